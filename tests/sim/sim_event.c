/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "sim.h"

int
sim_event_open(struct sim *sim, const char *path)
{
	if ((sim->events = fopen(path, "we")) == NULL) {
		log_warn("events file %s", path);
		return (-1);
	}
	/* Line buffered, so a test can read each event as it happens. */
	setvbuf(sim->events, NULL, _IOLBF, 0);
	return (0);
}

void
sim_event_close(struct sim *sim)
{
	if (sim->events != NULL)
		fclose(sim->events);
	sim->events = NULL;
}

void
sim_event(struct sim *sim, const char *ev, cJSON *obj)
{
	cJSON	*line;
	char	*text;

	if (obj == NULL)
		obj = cJSON_CreateObject();
	if (sim->events == NULL || obj == NULL) {
		cJSON_Delete(obj);
		return;
	}
	/* "t" and "ev" first, so the lines read well. */
	if ((line = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddNumberToObject(line, "t", (double)sim_now_ms(sim));
	cJSON_AddStringToObject(line, "ev", ev);
	while (obj->child != NULL) {
		cJSON	*item = obj->child;

		cJSON_DetachItemViaPointer(obj, item);
		cJSON_AddItemToObject(line, item->string, item);
	}
	cJSON_Delete(obj);
	if ((text = cJSON_PrintUnformatted(line)) == NULL)
		fatalx("%s: out of memory", __func__);
	if (fprintf(sim->events, "%s\n", text) < 0)
		log_warn("events file");
	free(text);
	cJSON_Delete(line);
}

cJSON *
sim_event_dev(const struct sim_device *d)
{
	cJSON	*o;
	char	 ieee[19];

	if ((o = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	ieee_format(d->ieee, ieee);
	cJSON_AddStringToObject(o, "dev", d->name);
	cJSON_AddStringToObject(o, "ieee", ieee);
	return (o);
}
