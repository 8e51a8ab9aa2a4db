/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * zotad-radio's OTA throughput and latency, against the adapter
 * simulator on a pty paced like a 115200-baud link with air latency:
 *
 *   1. one 256 KiB image to one device: transfer time against the bound
 *      the link and the device allow. The nominal bound adds up, per
 *      block, the air both ways, the device's reply time and the block
 *      request on the serial line; the measured one is the transfer time
 *      less the time the daemon held the turn (from a block request
 *      leaving the adapter to the response reaching it), since the
 *      simulator's pacing adds latency of its own;
 *   2. twenty devices asking for updates at once, all transferring
 *      together (zotad.max_concurrent_updates at 20): the daemon's
 *      block-response latency, from the block request leaving the
 *      adapter to the response coming in, p50 and p99;
 *   3. the daemon's peak resident memory.
 *
 * BENCH_RADIO_KIB changes the size of the first image.
 */

#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "ipc.h"
#include "ipc_catalogue.h"
#include "otafile.h"
#include "util.h"

#define BENCH_BAUD		115200
#define BENCH_AIR_MS		5
#define BENCH_REPLY_MS		5
#define BENCH_BLOCK		64	/* device maximum and our cap */
#define BENCH_FLEET		20
#define BENCH_CONCURRENT	20	/* all twenty in flight */
#define BENCH_FLEET_KIB		8
/* An AF_INCOMING_MSG carrying an Image Block Request, on the wire. */
#define BENCH_REQ_FRAME		(5 + 17 + 3 + 3 + 14)
#define NOBODY			65534

static char	 dir[64];
static pid_t	 sim_pid, radio_pid;

static void
die(const char *what)
{
	fprintf(stderr, "bench_radio: %s\n", what);
	if (radio_pid > 0)
		kill(radio_pid, SIGKILL);
	if (sim_pid > 0)
		kill(sim_pid, SIGKILL);
	exit(1);
}

static void
put(const char *name, const void *buf, size_t len)
{
	char	 path[128];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL || fwrite(buf, 1, len, f) != len ||
	    fclose(f) != 0)
		die("cannot write a file");
}

static pid_t
spawn(char *const argv[], const char *log, int as_nobody)
{
	char	 path[128];
	pid_t	 pid;
	int	 fd;

	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		snprintf(path, sizeof(path), "%s/%s", dir, log);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0666)) !=
		    -1)
			dup2(fd, 2);
		if (as_nobody && getuid() == 0 && (setgroups(0, NULL) == -1 ||
		    setgid(NOBODY) == -1 || setuid(NOBODY) == -1))
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	return (pid);
}

/* Wait for the daemon's socket to answer ListDevices. */
static struct ipc_conn *
connect_radio(struct event_base *base)
{
	struct ipc_result	 res;
	struct ipc_conn		*c;
	char			 path[128];
	int			 i;

	snprintf(path, sizeof(path), "%s/run/radio.sock", dir);
	for (i = 0; i < 200; i++) {
		if ((c = ipc_connect(base, path)) != NULL) {
			if (ipc_conn_call_sync(c, IPC_RADIO_PERMIT_JOIN,
			    cJSON_Parse("{\"time\":0}"), NULL, 0, 2000,
			    &res) == 0 && res.error == NULL) {
				ipc_result_clear(&res);
				return (c);
			}
			ipc_result_clear(&res);
			ipc_conn_free(c);
		}
		/* Start-up takes a few frames; poll its socket gently. */
		usleep(50000);
	}
	die("zotad-radio did not come up");
	return (NULL);
}

static char *
image_hex(uint16_t manuf, uint32_t size, uint32_t seed)
{
	struct ota_make_params	 p;
	uint8_t			*buf;
	size_t			 len;
	char			*hex;

	memset(&p, 0, sizeof(p));
	p.manufacturer_code = manuf;
	p.image_type = 1;
	p.file_version = 2;
	p.stack_version = OTA_STACK_PRO;
	p.total_size = size;
	p.seed = seed;
	if (ota_make(&p, &buf, &len) == -1 || (hex = malloc(2 * len + 1)) ==
	    NULL)
		die("ota_make");
	util_hex(buf, len, hex);
	free(buf);
	return (hex);
}

/* N routers, each an OTA client at version 1, and their z2m records. */
static void
write_network(int n)
{
	char	*scen, *db, dev[1024], rec[1024];
	size_t	 slen = 0, dlen = 0;
	int	 i;

	scen = calloc(1, 64 * 1024);
	db = calloc(1, 64 * 1024);
	if (scen == NULL || db == NULL)
		die("out of memory");
	slen = (size_t)snprintf(scen, 64 * 1024, "{\"adapter\": {\"formed\": "
	    "true}, \"link\": {\"baud\": %d, \"air_latency_ms\": %d}, "
	    "\"devices\": [", BENCH_BAUD, BENCH_AIR_MS);
	for (i = 0; i < n; i++) {
		snprintf(dev, sizeof(dev), "%s{\"name\": \"d%d\", \"ieee\": "
		    "\"0x00000000000010%02x\", \"nwk\": %d, \"type\": "
		    "\"router\", \"manufacturer_code\": 4107, \"endpoints\": "
		    "[{\"id\": 1, \"profile\": 260, \"in\": [0], \"out\": "
		    "[25]}], \"ota\": {\"image_type\": 1, \"file_version\": 1,"
		    " \"max_data_size\": %d, \"reply_latency_ms\": %d, "
		    "\"reboot_ms\": 100}}", i ? "," : "", i, i, 0x100 + i,
		    BENCH_BLOCK, BENCH_REPLY_MS);
		snprintf(rec, sizeof(rec), "{\"type\":\"Router\",\"ieeeAddr\":"
		    "\"0x00000000000010%02x\",\"nwkAddr\":%d,\"endpoints\":"
		    "{\"1\":{\"profId\":260,\"inClusterList\":[0],"
		    "\"outClusterList\":[25]}},\"interviewCompleted\":true}\n",
		    i, 0x100 + i);
		slen += (size_t)snprintf(scen + slen, 64 * 1024 - slen, "%s",
		    dev);
		dlen += (size_t)snprintf(db + dlen, 64 * 1024 - dlen, "%s",
		    rec);
	}
	slen += (size_t)snprintf(scen + slen, 64 * 1024 - slen, "]}");
	put("scenario.json", scen, slen);
	put("database.db", db, dlen);
	free(scen);
	free(db);
}

static void
start(const char *build, int concurrent)
{
	char	 sim[128], radio[128], conf[1024], path[128], tty[128];
	char	 ev[128], ctl[128];
	char	*sargv[] = { sim, "--scenario", path, "--pty", tty,
	    "--events", ev, "--control", ctl, NULL };
	char	*rargv[] = { radio, "-d", "-f", conf, NULL };
	int	 n;

	snprintf(sim, sizeof(sim), "%s/bin/zotad-sim", build);
	snprintf(radio, sizeof(radio), "%s/bin/zotad-radio", build);
	snprintf(path, sizeof(path), "%s/scenario.json", dir);
	snprintf(tty, sizeof(tty), "%s/tty", dir);
	snprintf(ev, sizeof(ev), "%s/events.jsonl", dir);
	snprintf(ctl, sizeof(ctl), "%s/ctl", dir);
	sim_pid = spawn(sargv, "sim.log", 1);
	/* The pty link appears once the simulator is ready. */
	for (n = 0; n < 200 && access(tty, F_OK) == -1; n++)
		usleep(20000);
	n = snprintf(conf, sizeof(conf), "serial:\n  port: %s\nzotad:\n"
	    "  state_dir: %s/state\n  run_dir: %s/run\n  user_radio: nobody\n"
	    "  max_concurrent_updates: %d\n", tty, dir, dir, concurrent);
	put("configuration.yaml", conf, (size_t)n);
	snprintf(conf, sizeof(conf), "%s/configuration.yaml", dir);
	radio_pid = spawn(rargv, "radio.log", 0);
}

static long
peak_rss_kib(pid_t pid)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kib = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return (kib);
}

static void
stop(void)
{
	int	 st;

	kill(radio_pid, SIGTERM);
	waitpid(radio_pid, &st, 0);
	kill(sim_pid, SIGTERM);
	waitpid(sim_pid, &st, 0);
	radio_pid = sim_pid = 0;
}

struct pending {
	int	 done;
	int	 failed;
};

static void
update_cb(struct ipc_conn *c, struct ipc_reply *r, void *arg)
{
	struct pending	*p = arg;

	(void)c;
	if (r->continues)
		return;
	p->done = 1;
	p->failed = r->error != NULL;
}

static void
update(struct ipc_conn *c, int dev, const char *hex, struct pending *p)
{
	cJSON	*params = cJSON_CreateObject();
	char	 ieee[19];

	snprintf(ieee, sizeof(ieee), "0x00000000000010%02x", dev);
	cJSON_AddStringToObject(params, "ieee", ieee);
	cJSON_AddStringToObject(params, "hex", hex);
	cJSON_AddNumberToObject(params, "image_block_response_delay", 0);
	cJSON_AddNumberToObject(params, "default_maximum_data_size",
	    BENCH_BLOCK);
	if (ipc_conn_call(c, IPC_RADIO_UPDATE, params, 0, NULL, 0, update_cb,
	    p) == -1)
		die("Update call");
	cJSON_Delete(params);
}

static void
run_until(struct event_base *base, struct pending *p, int n)
{
	int	 i, left;

	do {
		event_base_loop(base, EVLOOP_ONCE);
		for (left = 0, i = 0; i < n; i++)
			left += !p[i].done;
	} while (left > 0);
	for (i = 0; i < n; i++)
		if (p[i].failed)
			die("an update failed; see radio.log");
}

/*
 * From the first run's event log: the transfer time ("ota_download" to
 * "ota_verify") and the part of it the daemon held the turn, from each
 * block request leaving the adapter to the response coming in.
 */
static void
transfer_ms(double *total, double *daemon)
{
	char	 path[128], line[8192];
	FILE	*f;
	double	 t0 = -1, t1 = -1, asked = -1, t;
	cJSON	*o;

	*daemon = 0;
	snprintf(path, sizeof(path), "%s/events-one.jsonl", dir);
	if ((f = fopen(path, "r")) == NULL)
		die("no event file");
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((o = cJSON_Parse(line)) == NULL)
			continue;
		t = cJSON_GetNumberValue(cJSON_GetObjectItem(o, "t"));
		if (strstr(line, "\"ota_download\"") != NULL && t0 < 0)
			t0 = t;
		else if (strstr(line, "\"ota_verify\"") != NULL)
			t1 = t;
		else if (t0 >= 0 && t1 < 0 &&
		    strstr(line, "\"subsys\":\"AF\",\"cmd\":129") != NULL)
			asked = t;
		else if (asked >= 0 &&
		    strstr(line, "\"subsys\":\"AF\",\"cmd\":1,") != NULL) {
			*daemon += t - asked;
			asked = -1;
		}
		cJSON_Delete(o);
	}
	fclose(f);
	*total = t1 - t0;
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

/*
 * From the simulator's frame log: each AF_INCOMING_MSG (a block request
 * going to the host) is paired with the next AF_DATA_REQUEST to the
 * same device (the response coming back).
 */
static size_t
latencies(double *out, size_t max)
{
	char		 path[128], line[8192];
	double		 asked[256];
	FILE		*f;
	cJSON		*o;
	const char	*data;
	unsigned	 nwk;
	size_t		 n = 0;
	double		 t;

	for (nwk = 0; nwk < 256; nwk++)
		asked[nwk] = -1;
	snprintf(path, sizeof(path), "%s/events.jsonl", dir);
	if ((f = fopen(path, "r")) == NULL)
		die("no event file");
	while (fgets(line, sizeof(line), f) != NULL && n < max) {
		if (strstr(line, "\"subsys\":\"AF\"") == NULL)
			continue;
		if ((o = cJSON_Parse(line)) == NULL)
			continue;
		t = cJSON_GetObjectItem(o, "t")->valuedouble;
		data = cJSON_GetStringValue(cJSON_GetObjectItem(o, "data"));
		if (strstr(line, "\"cmd\":129") != NULL && data != NULL &&
		    strlen(data) > 12 && sscanf(data + 8, "%2x", &nwk) == 1)
			asked[nwk] = t;
		else if (strstr(line, "\"cmd\":1,") != NULL && data != NULL &&
		    sscanf(data, "%2x", &nwk) == 1 && asked[nwk] >= 0) {
			out[n++] = t - asked[nwk];
			asked[nwk] = -1;
		}
		cJSON_Delete(o);
	}
	fclose(f);
	return (n);
}

int
main(void)
{
	struct event_base	*base;
	struct ipc_conn		*c;
	struct pending		 p[BENCH_FLEET];
	const char		*build = getenv("BUILD") ? getenv("BUILD") :
				    "build";
	char			*hex, cmd[256];
	double			 ms, bound, nominal, held, lat[20000];
	uint32_t		 kib = 256, blocks;
	size_t			 n;
	long			 rss1, rss2;
	int			 i;

	if (getenv("BENCH_RADIO_KIB") != NULL)
		kib = (uint32_t)atoi(getenv("BENCH_RADIO_KIB"));
	snprintf(dir, sizeof(dir), "/tmp/zotad-bench-radio.XXXXXX");
	if (mkdtemp(dir) == NULL || chmod(dir, 0777) == -1)
		die("mkdtemp");
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();

	/* 1. One device, one big image. */
	write_network(1);
	start(build, 1);
	c = connect_radio(base);
	hex = image_hex(4107, kib * 1024, 1);
	memset(p, 0, sizeof(p));
	update(c, 0, hex, &p[0]);
	run_until(base, p, 1);
	free(hex);
	rss1 = peak_rss_kib(radio_pid);
	ipc_conn_free(c);
	stop();

	/* 2. A fleet updating at once. */
	snprintf(cmd, sizeof(cmd), "mv %s/events.jsonl %s/events-one.jsonl; "
	    "rm -rf %s/state/*", dir, dir, dir);
	if (system(cmd) != 0)
		die(cmd);
	transfer_ms(&ms, &held);
	blocks = (kib * 1024 + BENCH_BLOCK - 1) / BENCH_BLOCK;
	nominal = blocks * (2.0 * BENCH_AIR_MS + BENCH_REPLY_MS +
	    BENCH_REQ_FRAME * 10 * 1000.0 / BENCH_BAUD);
	bound = ms - held;
	write_network(BENCH_FLEET);
	start(build, BENCH_CONCURRENT);
	c = connect_radio(base);
	hex = image_hex(4107, BENCH_FLEET_KIB * 1024, 2);
	memset(p, 0, sizeof(p));
	for (i = 0; i < BENCH_FLEET; i++)
		update(c, i, hex, &p[i]);
	run_until(base, p, BENCH_FLEET);
	free(hex);
	rss2 = peak_rss_kib(radio_pid);
	ipc_conn_free(c);
	stop();
	n = latencies(lat, sizeof(lat) / sizeof(lat[0]));
	if (n == 0)
		die("no block exchanges in the event log");
	qsort(lat, n, sizeof(lat[0]), cmp_double);

	printf("zotad-radio OTA over a %d-baud link, %d ms air latency, "
	    "%d ms device reply\n", BENCH_BAUD, BENCH_AIR_MS, BENCH_REPLY_MS);
	printf("%-44s %12s\n", "measure", "value");
	printf("%-44s %9u KiB\n", "image, one device", kib);
	printf("%-44s %10.1f s\n", "transfer time", ms / 1000);
	printf("%-44s %10.1f s\n", "nominal bound (configured latencies)",
	    nominal / 1000);
	printf("%-44s %10.1f s\n", "link-and-device time (measured)",
	    bound / 1000);
	printf("%-44s %10.1f s\n", "time the daemon held the turn",
	    held / 1000);
	printf("%-44s %10.1f %%\n", "transfer at the link-and-device bound",
	    100.0 * bound / ms);
	printf("%-44s %10.1f KiB/s\n", "throughput", kib / (ms / 1000));
	printf("%-44s %12zu\n", "block exchanges, 20 devices at once", n);
	printf("%-44s %9.0f ms\n", "block-response latency p50",
	    lat[n / 2]);
	printf("%-44s %9.0f ms\n", "block-response latency p99",
	    lat[(n * 99) / 100]);
	printf("%-44s %8ld KiB\n", "peak RSS, one transfer", rss1);
	printf("%-44s %8ld KiB\n", "peak RSS, 20 devices", rss2);

	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	/* BENCH_KEEP leaves the logs for a closer look. */
	if (getenv("BENCH_KEEP") == NULL && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return (0);
}
