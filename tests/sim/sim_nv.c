/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sim.h"

/* Packed NIB offsets (the layout hosts expect after a 21-byte NWKKEY). */
#define NIB_OFF_CHANNEL		22
#define NIB_OFF_COORD_EXT	25
#define NIB_OFF_PANID		33
#define NIB_OFF_CHANLIST	36
#define NIB_OFF_EPID		53
#define NIB_OFF_KEY_LOADED	61

#define NV_ZIGPY_MIGRATION	0x005F
#define NV_BCAST_DELIVERY	0x0030
#define NV_CONCENTRATOR_ENABLE	0x0032
#define NV_CONCENTRATOR_DISC	0x0033
#define NV_CONCENTRATOR_RC	0x0036
#define NV_SRC_RTG_EXPIRY	0x0038
#define NV_CHILD_AGE_ENABLE	0x003E

void
nv_init(struct sim_nv *nv)
{
	TAILQ_INIT(nv);
}

void
nv_free(struct sim_nv *nv)
{
	struct sim_nv_item	*it;

	while ((it = TAILQ_FIRST(nv)) != NULL)
		nv_delete(nv, it);
}

struct sim_nv_item *
nv_find(struct sim_nv *nv, uint8_t sysid, uint16_t id, uint16_t sub)
{
	struct sim_nv_item	*it;

	TAILQ_FOREACH(it, nv, entry)
		if (it->sysid == sysid && it->id == id && it->sub == sub)
			return (it);
	return (NULL);
}

struct sim_nv_item *
nv_set(struct sim_nv *nv, uint8_t sysid, uint16_t id, uint16_t sub,
    const void *data, size_t len)
{
	struct sim_nv_item	*it;
	uint8_t			*copy;

	if ((copy = calloc(1, len + 1)) == NULL)
		fatal("%s", __func__);
	if (data != NULL)
		memcpy(copy, data, len);
	if ((it = nv_find(nv, sysid, id, sub)) == NULL) {
		if ((it = calloc(1, sizeof(*it))) == NULL)
			fatal("%s", __func__);
		it->sysid = sysid;
		it->id = id;
		it->sub = sub;
		TAILQ_INSERT_TAIL(nv, it, entry);
	} else
		free(it->data);
	it->data = copy;
	it->len = (uint16_t)len;
	return (it);
}

int
nv_room(struct sim_nv *nv, size_t len)
{
	struct sim_nv_item	*it;
	int			 n = 0;

	TAILQ_FOREACH(it, nv, entry)
		n++;
	return (len <= NV_ITEM_MAX && n < NV_ITEMS_MAX);
}

void
nv_delete(struct sim_nv *nv, struct sim_nv_item *it)
{
	TAILQ_REMOVE(nv, it, entry);
	free(it->data);
	free(it);
}

/* NV holds little-endian integers whatever the host's byte order. */
static void
nv_le(uint8_t *out, uint32_t v, int n)
{
	int	 i;

	for (i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t
nv_from_le(const uint8_t *p, int n)
{
	uint32_t	 v = 0;
	int		 i;

	for (i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return (v);
}

static void
nv_set_u8(struct sim *sim, uint16_t id, uint8_t v)
{
	nv_set(&sim->nv, 0, id, 0, &v, 1);
}

static void
nv_remove(struct sim *sim, uint16_t id)
{
	struct sim_nv_item	*it;

	if ((it = nv_find(&sim->nv, 0, id, 0)) != NULL)
		nv_delete(&sim->nv, it);
}

/* Build the packed NIB of a formed network. */
static void
nv_write_nib(struct sim *sim, uint16_t pan, const uint8_t epid[8],
    uint8_t channel)
{
	static const uint8_t head[] = {
		0x00, 0x05, 0x02, 0x14, 0x0f, 0x05, 0x00, 0x1e, 0x07, 0x00,
		0x00, 0x01, 0x05, 0x00, 0x8f, 0x07, 0x00, 0x02, 0x0d, 0x3c
	};
	static const uint8_t tail[] = {
		0x00, 0x00, 0x0f, 0x03, 0x00, 0x01, 0x63, 0x0a, 0x01
	};
	uint8_t		 nib[NIB_LEN];

	memset(nib, 0, sizeof(nib));
	memcpy(nib, head, sizeof(head));
	nib[NIB_OFF_CHANNEL] = channel;
	memcpy(nib + NIB_OFF_COORD_EXT, sim->adapter.ieee, 8);
	nv_le(nib + NIB_OFF_PANID, pan, 2);
	nib[35] = 0x06;		/* nwkState */
	nv_le(nib + NIB_OFF_CHANLIST, 1U << channel, 4);
	nib[40] = 0x0f;
	nib[41] = 0x0f;
	nib[42] = 0x04;
	memcpy(nib + NIB_OFF_EPID, epid, 8);
	nib[NIB_OFF_KEY_LOADED] = 1;
	memcpy(nib + 96, tail, sizeof(tail));
	nv_set(&sim->nv, 0, NV_NIB, 0, nib, sizeof(nib));
}

/* The key items all hold the same network key. */
static void
nv_write_keys(struct sim *sim, const uint8_t key[16])
{
	uint8_t	 info[17], nwkkey[21];

	info[0] = 0;
	memcpy(info + 1, key, 16);
	nv_set(&sim->nv, 0, NV_ACTIVE_KEY_INFO, 0, info, sizeof(info));
	nv_set(&sim->nv, 0, NV_ALTERN_KEY_INFO, 0, info, sizeof(info));
	memset(nwkkey, 0, sizeof(nwkkey));
	memcpy(nwkkey + 1, key, 16);
	nwkkey[17] = 0xe2;	/* frame counter 1250, as a used adapter has */
	nwkkey[18] = 0x04;
	nv_set(&sim->nv, 0, NV_NWKKEY, 0, nwkkey, sizeof(nwkkey));
}

/* Items every Z-Stack image carries, blank or not. */
static void
nv_load_common(struct sim *sim)
{
	uint8_t		 seed[16];
	int		 i;

	nv_set(&sim->nv, 0, NV_EXTADDR, 0, sim->adapter.ieee, 8);
	for (i = 0; i < 16; i++)
		seed[i] = (uint8_t)(sim->adapter.ieee[i % 8] ^ (0x5a + i));
	nv_set(&sim->nv, 0, NV_TCLK_SEED, 0, seed, sizeof(seed));
}

void
nv_load_blank(struct sim *sim)
{
	uint8_t	 nwkkey[21];

	nv_free(&sim->nv);
	nv_load_common(sim);
	memset(nwkkey, 0, sizeof(nwkkey));
	nv_set(&sim->nv, 0, NV_NWKKEY, 0, nwkkey, sizeof(nwkkey));
}

void
nv_load_formed(struct sim *sim)
{
	struct sim_adapter	*a = &sim->adapter;
	uint8_t			 pan[2], mask[4];

	nv_free(&sim->nv);
	nv_load_common(sim);
	nv_write_nib(sim, a->pan_id, a->epid, a->channel);
	nv_write_keys(sim, a->key);
	nv_le(pan, a->pan_id, 2);
	nv_le(mask, 1U << a->channel, 4);
	nv_set(&sim->nv, 0, NV_PRECFGKEY, 0, a->key, 16);
	nv_set(&sim->nv, 0, NV_PANID, 0, pan, 2);
	nv_set(&sim->nv, 0, NV_CHANLIST, 0, mask, 4);
	nv_set(&sim->nv, 0, NV_EXTENDED_PAN_ID, 0, a->epid, 8);
	nv_set(&sim->nv, 0, NV_APS_USE_EXT_PANID, 0, a->epid, 8);
	nv_set_u8(sim, NV_HAS_CONFIGURED, 0x55);
	nv_set_u8(sim, NV_BDBNODEISONANETWORK, 1);
	nv_set_u8(sim, NV_ZIGPY_MIGRATION, 1);
	nv_set_u8(sim, NV_PRECFGKEYS_ENABLE, 0);
	nv_set_u8(sim, NV_STARTUP_OPTION, 0);
	nv_set_u8(sim, NV_LOGICAL_TYPE, 0);
	nv_set_u8(sim, NV_ZDO_DIRECT_CB, 1);
	nv_set_u8(sim, NV_CONCENTRATOR_ENABLE, 1);
	nv_set_u8(sim, NV_CONCENTRATOR_DISC, 120);
	nv_set_u8(sim, NV_CONCENTRATOR_RC, 1);
	nv_set_u8(sim, NV_SRC_RTG_EXPIRY, 255);
	nv_set_u8(sim, NV_CHILD_AGE_ENABLE, 0);
	nv_set_u8(sim, NV_BCAST_DELIVERY, 30);
}

/* Copy an item of exactly LEN bytes into OUT; 0 when it is there. */
static int
nv_get(struct sim *sim, uint16_t id, void *out, size_t len)
{
	struct sim_nv_item	*it;

	if ((it = nv_find(&sim->nv, 0, id, 0)) == NULL || it->len != len)
		return (-1);
	memcpy(out, it->data, len);
	return (0);
}

/* The lowest channel in a mask, or 0 when it holds none of 11..26. */
static uint8_t
nv_mask_channel(uint32_t mask)
{
	uint8_t	 ch;

	for (ch = 11; ch <= 26; ch++)
		if (mask & (1U << ch))
			return (ch);
	return (0);
}

void
nv_form_network(struct sim *sim)
{
	struct sim_adapter	*a = &sim->adapter;
	uint16_t		 pan = a->pan_id;
	uint8_t			 epid[8], key[16], buf[4], channel = 0;

	/* What the host wrote wins; the scenario fills the gaps. */
	if (nv_get(sim, NV_PANID, buf, 2) == 0)
		pan = (uint16_t)nv_from_le(buf, 2);
	if (pan == 0xFFFF || pan == 0xFFFE)
		pan = a->pan_id;
	memcpy(epid, a->epid, 8);
	if (nv_get(sim, NV_APS_USE_EXT_PANID, epid, 8) == -1)
		nv_get(sim, NV_EXTENDED_PAN_ID, epid, 8);
	if (nv_get(sim, NV_CHANLIST, buf, 4) == 0)
		channel = nv_mask_channel(nv_from_le(buf, 4));
	if (channel == 0)
		channel = a->channel;
	memcpy(key, a->key, 16);
	nv_get(sim, NV_PRECFGKEY, key, 16);

	nv_write_nib(sim, pan, epid, channel);
	nv_write_keys(sim, key);
	nv_set_u8(sim, NV_BDBNODEISONANETWORK, 1);
}

int
nv_network(struct sim *sim, uint16_t *pan, uint8_t epid[8], uint8_t *channel)
{
	struct sim_nv_item	*it;
	uint16_t		 p;

	if ((it = nv_find(&sim->nv, 0, NV_NIB, 0)) == NULL ||
	    it->len < NIB_LEN)
		return (-1);
	p = (uint16_t)nv_from_le(it->data + NIB_OFF_PANID, 2);
	if (it->data[NIB_OFF_CHANNEL] == 0 || p == 0xFFFF || p == 0xFFFE)
		return (-1);
	if (pan != NULL)
		*pan = p;
	if (epid != NULL)
		memcpy(epid, it->data + NIB_OFF_EPID, 8);
	if (channel != NULL)
		*channel = it->data[NIB_OFF_CHANNEL];
	return (0);
}

int
nv_network_formed(struct sim *sim)
{
	return (nv_network(sim, NULL, NULL, NULL) == 0);
}

void
nv_reset_apply(struct sim *sim)
{
	uint8_t	 opt = 0;

	nv_get(sim, NV_STARTUP_OPTION, &opt, 1);
	if (opt & 0x01) {
		/* Clear configuration: back to what a flashed stick holds. */
		nv_load_blank(sim);
		nv_set_u8(sim, NV_STARTUP_OPTION, opt);
		return;
	}
	if (opt & 0x02) {
		nv_remove(sim, NV_NIB);
		nv_remove(sim, NV_ACTIVE_KEY_INFO);
		nv_remove(sim, NV_ALTERN_KEY_INFO);
		nv_remove(sim, NV_BDBNODEISONANETWORK);
	}
}
