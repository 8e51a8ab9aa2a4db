/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "atomicfile.h"
#include "fetch.h"
#include "log.h"

struct gate_device {
	uint64_t	 ieee;
	time_t		 last;
};

struct gate {
	char			*path;
	time_t			 interval;
	struct gate_device	*devs;		/* sorted by ieee */
	size_t			 ndevs;
	size_t			 cap;
};

static struct gate_device *
gate_find(const struct gate *g, uint64_t ieee, size_t *pos)
{
	size_t	 lo = 0, hi = g->ndevs, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (g->devs[mid].ieee == ieee)
			return (&g->devs[mid]);
		if (g->devs[mid].ieee < ieee)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (pos != NULL)
		*pos = lo;
	return (NULL);
}

static int
gate_set(struct gate *g, uint64_t ieee, time_t t)
{
	struct gate_device	*d, *n;
	size_t			 pos = 0, ncap;

	if ((d = gate_find(g, ieee, &pos)) != NULL) {
		d->last = t;
		return (0);
	}
	if (g->ndevs >= GATE_MAX_DEVICES) {
		errno = ENOSPC;
		return (-1);
	}
	if (g->ndevs == g->cap) {
		ncap = g->cap == 0 ? 64 : g->cap * 2;
		if ((n = reallocarray(g->devs, ncap, sizeof(*n))) == NULL)
			return (-1);
		g->devs = n;
		g->cap = ncap;
	}
	memmove(&g->devs[pos + 1], &g->devs[pos],
	    (g->ndevs - pos) * sizeof(*g->devs));
	g->devs[pos].ieee = ieee;
	g->devs[pos].last = t;
	g->ndevs++;
	return (0);
}

/* "0x" and 16 hex digits, as the configuration spells addresses. */
static int
gate_parse_ieee(const char *s, uint64_t *ieee)
{
	char	*end;

	if (strlen(s) != 18 || s[0] != '0' || s[1] != 'x' ||
	    strspn(s + 2, "0123456789abcdefABCDEF") != 16)
		return (-1);
	*ieee = strtoull(s + 2, &end, 16);
	return (*end == '\0' ? 0 : -1);
}

static void
gate_load(struct gate *g)
{
	cJSON		*root, *devs, *it;
	uint64_t	 ieee;

	if ((root = atomic_read_json(g->path, GATE_STATE_MAX)) == NULL) {
		if (errno != ENOENT)
			log_warnx("%s: ignored, every device may be checked "
			    "once more", g->path);
		return;
	}
	devs = cJSON_GetObjectItemCaseSensitive(root, "devices");
	if (!cJSON_IsObject(devs)) {
		log_warnx("%s: no \"devices\" object, ignored", g->path);
		cJSON_Delete(root);
		return;
	}
	cJSON_ArrayForEach(it, devs) {
		if (gate_parse_ieee(it->string, &ieee) == -1 ||
		    !cJSON_IsNumber(it) || it->valuedouble < 0 ||
		    it->valuedouble > 1e15) {
			log_warnx("%s: bad entry \"%s\" skipped", g->path,
			    it->string);
			continue;
		}
		if (gate_set(g, ieee, (time_t)it->valuedouble) == -1) {
			log_warn("%s", g->path);
			break;
		}
	}
	cJSON_Delete(root);
}

struct gate *
gate_new(const char *state_path, time_t interval)
{
	struct gate	*g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return (NULL);
	g->interval = interval;
	if (state_path != NULL) {
		if ((g->path = strdup(state_path)) == NULL) {
			free(g);
			return (NULL);
		}
		gate_load(g);
	}
	return (g);
}

void
gate_free(struct gate *g)
{
	if (g == NULL)
		return;
	free(g->devs);
	free(g->path);
	free(g);
}

static int
gate_save(const struct gate *g)
{
	cJSON	*root, *devs;
	char	 key[19];
	size_t	 i;
	int	 r = -1;

	if ((root = cJSON_CreateObject()) == NULL)
		return (-1);
	if ((devs = cJSON_AddObjectToObject(root, "devices")) == NULL)
		goto out;
	for (i = 0; i < g->ndevs; i++) {
		snprintf(key, sizeof(key), "0x%016" PRIx64, g->devs[i].ieee);
		if (cJSON_AddNumberToObject(devs, key,
		    (double)g->devs[i].last) == NULL)
			goto out;
	}
	r = atomic_write_json(g->path, root, 0600);
 out:
	cJSON_Delete(root);
	return (r);
}

time_t
gate_last(const struct gate *g, uint64_t ieee)
{
	const struct gate_device *d;

	if ((d = gate_find(g, ieee, NULL)) == NULL)
		return (-1);
	return (d->last);
}

/*
 * A last check more than an interval in the future means the clock was
 * set back; it is ignored rather than locking the device out for good.
 */
static int
gate_recent(const struct gate *g, time_t t, time_t now)
{
	if (t < 0 || t > now + g->interval)
		return (0);
	return (now - t < g->interval);
}

enum gate_verdict
gate_judge(const struct gate *g, uint64_t ieee, int automatic,
    int disabled, time_t now)
{
	if (!automatic)
		return (GATE_NETWORK);
	if (disabled)
		return (GATE_DISABLED);
	if (gate_recent(g, gate_last(g, ieee), now))
		return (GATE_CACHE_ONLY);
	return (GATE_NETWORK);
}

enum gate_source_action
gate_source(const struct gate *g, enum gate_verdict verdict, int have,
    time_t fetched, time_t now)
{
	if (have && (verdict != GATE_NETWORK ||
	    gate_recent(g, fetched, now)))
		return (GATE_SOURCE_USE);
	if (verdict == GATE_NETWORK)
		return (GATE_SOURCE_FETCH);
	return (GATE_SOURCE_NONE);
}

/* Times older than an interval restrict nothing: forget them. */
static void
gate_prune(struct gate *g, time_t now)
{
	size_t	 i, n = 0;

	for (i = 0; i < g->ndevs; i++)
		if (gate_recent(g, g->devs[i].last, now))
			g->devs[n++] = g->devs[i];
	g->ndevs = n;
}

int
gate_record(struct gate *g, uint64_t ieee, time_t now)
{
	gate_prune(g, now);
	if (gate_set(g, ieee, now) == -1) {
		log_warn("last check of 0x%016" PRIx64, ieee);
		return (-1);
	}
	if (g->path != NULL && gate_save(g) == -1) {
		log_warn("%s", g->path);
		return (-1);
	}
	return (0);
}

size_t
gate_ndevices(const struct gate *g)
{
	return (g->ndevs);
}

time_t
gate_interval(const struct gate *g)
{
	return (g->interval);
}
