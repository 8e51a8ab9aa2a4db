/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * zotad-mqtt's parsers of outside input: request topics and payloads
 * from anyone on the broker, permit_join payloads, and device records
 * and update events from zotad-radio, followed by every payload built
 * from them (responses, state, bridge/devices, discovery).
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "mqttd.h"

#define FUZZ_MAX_IMAGE	4096

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const fuzz_topics[] = {
	"check", "check/downgrade", "update", "update/downgrade",
	"update/abort", "schedule", "schedule/downgrade", "unschedule",
	"check/abort", "nonsense"
};

static struct config *
fuzz_config(void)
{
	static struct config	*conf;
	static const char	 text[] =
	    "homeassistant:\n  enabled: true\n"
	    "devices:\n  '0x00124b0012345678':\n"
	    "    friendly_name: 'hall/lamp 1'\n";
	char			 err[256];

	if (conf == NULL && (conf = config_load_buffer(text,
	    sizeof(text) - 1, "fuzz.yaml", "/", err, sizeof(err))) == NULL)
		abort();
	return (conf);
}

static void
fuzz_request(const uint8_t *data, size_t len)
{
	struct mqreq	 req;
	char		 err[512], *s;
	int		 t;

	memset(&req, 0, sizeof(req));
	t = mqreq_topic(fuzz_topics[data[0] % 10], &req);
	if (t == -1)
		return;
	err[0] = '\0';
	if (mqreq_parse(&req, (const char *)data + 1, len - 1,
	    FUZZ_MAX_IMAGE, err, sizeof(err)) == -1) {
		/* Every refusal explains itself. */
		if (err[0] == '\0')
			abort();
		s = mqresp_error(err, req.transaction);
	} else {
		if (req.id == NULL || req.id[0] == '\0' ||
		    req.image_len > FUZZ_MAX_IMAGE)
			abort();
		s = mqresp_ok(mqresp_check_data(req.id, 1, req.downgrade,
		    req.url, NULL), req.transaction);
	}
	free(s);
	mqreq_clear(&req);
}

static void
fuzz_permit(const uint8_t *data, size_t len)
{
	struct mqbridge_permit	 p;
	char			 err[256];

	if (mqbridge_permit_parse((const char *)data, len, &p, err,
	    sizeof(err)) == 0 && (p.time < 0 || p.time > MQBRIDGE_PERMIT_MAX))
		abort();
	mqbridge_permit_clear(&p);
}

/* A device record, then the same bytes as an update event. */
static void
fuzz_radio(const uint8_t *data, size_t len)
{
	struct mqdevs	*t;
	struct mqdev	*d;
	cJSON		*j;
	char		 err[256], topic[512], *s;
	int		 added;

	if ((j = cJSON_ParseWithLength((const char *)data, len)) == NULL)
		return;
	if ((t = mqdevs_new(fuzz_config())) == NULL)
		abort();
	if ((d = mqdevs_upsert(t, j, &added, err, sizeof(err))) != NULL) {
		mqdevs_apply_update(d, j);
		if (d->up.progress > 100)
			abort();
		free(mqdevs_state_payload(d, 1));
		if (mqha_topic(fuzz_config(), d, topic, sizeof(topic)) == 0)
			free(mqha_payload(fuzz_config(), d));
	}
	s = mqbridge_devices(t);
	free(s);
	mqdevs_free(t);
	cJSON_Delete(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (len < 1)
		return (0);
	switch (data[0] >> 6) {
	case 0:
	case 1:
		fuzz_request(data, len);
		break;
	case 2:
		fuzz_permit(data + 1, len - 1);
		break;
	default:
		fuzz_radio(data + 1, len - 1);
		break;
	}
	return (0);
}
