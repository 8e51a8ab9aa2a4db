/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * A hostile or broken adapter against the real zotad-radio, confined as
 * it runs, on the simulator's pseudo terminal. Through the simulator's
 * control socket the test slips bytes of its own onto the line: noise,
 * frames with a wrong FCS or an impossible length, a frame cut off half
 * way, commands nobody knows and known ones whose payload is cut short.
 * The daemon must drop each, say in its log what it dropped, and go on
 * serving the device: a whole update still succeeds afterwards. It
 * must also take in a message too large for an MT frame, which the
 * adapter announces with AF_INCOMING_MSG_EXT and keeps for the host to
 * fetch, and answer it. The tests wait on the simulator's event file
 * and the daemon's log, never on the clock.
 */

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <event2/event.h>

#include "ipc.h"
#include "ipc_catalogue.h"
#include "suite.h"
#include "util.h"

#define BULB		"0x0017880100000001"
#define BULB_NWK_HEX	"0110"	/* 0x1001, as it goes on the wire */
#define BULB_IEEE_HEX	"0100000001881700"

static struct event_base	*mh_base;
static struct ipc_conn		*mh_conn;

/* Wait until COUNT lines of zotad-radio's log hold NEEDLE. */
static void
mh_wait_log(const char *needle, int count)
{
	char	 log[PATH_MAX];

	suite_log_path(SUITE_RADIO, log, sizeof(log));
	if (!suite_wait_file(log, needle, count, suite.pid[SUITE_RADIO]))
		fail_msg("zotad-radio never logged \"%s\" (%d times)", needle,
		    count);
}

/* Wait until COUNT lines of the simulator's events hold NEEDLE. */
static void
mh_wait_ev(const char *needle, int count)
{
	if (!suite_wait_file(suite.events, needle, count, suite.sim))
		fail_msg("the simulator never recorded %s (%d times)", needle,
		    count);
}

/*
 * One command to the simulator's control socket; 0 when it said ok.
 * Frames in hex make lines longer than suite_sim_ctl takes.
 */
static int
mh_ctl_status(const char *cmd)
{
	struct sockaddr_un	 sun;
	struct passwd		*pw = getpwnam("nobody");
	char			 ok[3];
	pid_t			 pid;
	int			 fd, st;

	assert_non_null(pw);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		/* The simulator serves only its own user. */
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if ((getuid() == 0 && (setgid(pw->pw_gid) == -1 ||
		    setuid(pw->pw_uid) == -1)) ||
		    (size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
		    suite.ctl) >= sizeof(sun.sun_path) ||
		    (fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
		    write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd) ||
		    write(fd, "\n", 1) != 1 || read(fd, ok, 2) != 2)
			_exit(2);
		_exit(strncmp(ok, "ok", 2) == 0 ? 0 : 3);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return (WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1);
}

/* A command the simulator must accept. */
static void
mh_ctl(const char *fmt, ...)
{
	va_list	 ap;
	char	*cmd;

	va_start(ap, fmt);
	assert_true(vasprintf(&cmd, fmt, ap) != -1);
	va_end(ap);
	if (mh_ctl_status(cmd) == -1)
		fail_msg("the simulator refused \"%.60s\"", cmd);
	free(cmd);
}

/* The bulb, an OTA client that must receive exactly the suite's image. */
static const char mh_scenario[] =
    "{\"devices\": ["
    "{\"name\": \"bulb\", \"ieee\": \"" BULB "\", \"nwk\": 4097,"
    " \"type\": \"router\", \"manufacturer_code\": 4107,"
    " \"basic\": {\"manufacturer_name\": \"Signify\","
    "  \"model_id\": \"LCT001\", \"power_source\": 1,"
    "  \"sw_build_id\": \"1.0\"},"
    " \"endpoints\": [{\"id\": 11, \"in\": [0, 6], \"out\": [25]}],"
    " \"ota\": {\"image_type\": 256, \"file_version\": 100,"
    "  \"expect_image\": \"expected.ota\","
    "  \"after\": {\"sw_build_id\": \"2.0\"}}}"
    "]}\n";

/* What zigbee2mqtt knew of it: the daemon imports it at first start. */
static const char mh_database[] =
    "{\"id\":2,\"type\":\"Router\",\"ieeeAddr\":\"" BULB "\","
    "\"nwkAddr\":4097,\"manufId\":4107,\"manufName\":\"Signify\","
    "\"powerSource\":\"Mains (single phase)\",\"modelId\":\"LCT001\","
    "\"endpoints\":{\"11\":{\"profId\":260,\"inClusterList\":[0,6],"
    "\"outClusterList\":[25]}},\"swBuildId\":\"1.0\","
    "\"interviewCompleted\":true}\n";

static void
mh_close(void)
{
	if (mh_conn != NULL)
		ipc_conn_free(mh_conn);
	if (mh_base != NULL)
		event_base_free(mh_base);
	mh_conn = NULL;
	mh_base = NULL;
}

/* The simulator and zotad-radio alone, logging debug lines. */
static int
mh_setup(void **state)
{
	(void)state;
	mh_close();
	suite_prepare("mt-hostile");
	suite.verbose = 1;
	suite_make_image(2000, 200);
	suite_write_text("scenario.json", mh_scenario);
	suite_write_text("database.db", mh_database);
	suite_write_config();
	assert_non_null(mh_base = event_base_new());
	suite_start_sim("tty");
	suite_start_daemon(SUITE_RADIO);
	return (0);
}

static int
mh_teardown(void **state)
{
	mh_close();
	return (suite_teardown(state));
}

static struct ipc_conn *
mh_radio(void)
{
	char	 sock[PATH_MAX];

	if (mh_conn == NULL) {
		suite_path(sock, sizeof(sock), "run/radio.sock");
		assert_non_null(mh_conn = ipc_connect(mh_base, sock));
	}
	return (mh_conn);
}

/* The daemon still runs, unharmed, and answers on radio.sock. */
static void
mh_assert_alive(void)
{
	struct ipc_result	 res;
	cJSON			*p = cJSON_CreateObject();
	char			 log[PATH_MAX];

	assert_true(suite_alive(suite.pid[SUITE_RADIO]));
	cJSON_AddStringToObject(p, "ieee", BULB);
	assert_int_equal(ipc_conn_call_sync(mh_radio(), IPC_RADIO_GET_DEVICE,
	    p, NULL, 0, suite.wait_ms, &res), 0);
	cJSON_Delete(p);
	assert_null(res.error);
	ipc_result_clear(&res);
	suite_log_path(SUITE_RADIO, log, sizeof(log));
	assert_int_equal(suite_file_count(log, "fatal"), 0);
}

/* A whole update of the bulb, which checks every byte it gets. */
static void
mh_assert_update_works(void)
{
	struct ipc_result	 res;
	cJSON			*p = cJSON_CreateObject();
	char			*hex;

	assert_non_null(hex = malloc(2 * suite.image_len + 1));
	util_hex(suite.image, suite.image_len, hex);
	cJSON_AddStringToObject(p, "ieee", BULB);
	cJSON_AddStringToObject(p, "hex", hex);
	cJSON_AddNumberToObject(p, "image_block_response_delay", 0);
	free(hex);
	assert_int_equal(ipc_conn_call_sync(mh_radio(), IPC_RADIO_UPDATE, p,
	    NULL, 0, 120000, &res), 0);
	cJSON_Delete(p);
	assert_null(res.error);
	ipc_result_clear(&res);
	mh_wait_ev("\"ev\":\"ota_verify\",\"dev\":\"bulb\"", 1);
	assert_int_equal(suite_file_count(suite.events, "\"ok\":true"), 1);
}

/*
 * Noise and broken framing: the decoder drops them, the daemon says
 * what it dropped, and a good frame right after a broken one still
 * gets through.
 */
static void
t_framing(void **state)
{
	(void)state;
	mh_ctl("inject raw 00112233445566");
	mh_wait_log("dropped what is not an MT frame: stray bytes: 7", 1);

	/* A device announce with a wrong FCS. */
	mh_ctl("inject bad-fcs AREQ ZDO 0xC1 " BULB_NWK_HEX BULB_NWK_HEX
	    BULB_IEEE_HEX "8e");
	mh_wait_log("frames with a bad FCS: 1", 1);

	/* A length no frame can have, then one the data does not have. */
	mh_ctl("inject bad-len 251 AREQ AF 0x81 00");
	mh_wait_log("headers claiming over 250 bytes: 1", 1);
	/* 20 bytes said, 2 sent: what comes next is taken for the rest. */
	mh_ctl("inject bad-len 20 AREQ ZDO 0xEE 0102");
	mh_ctl("inject raw 00000000000000000000000000000000005a000000");
	mh_wait_log("frames with a bad FCS: 1", 2);

	/*
	 * A frame cut off half way: its length swallows the good frame
	 * that follows, until enough bytes came to find its FCS wrong;
	 * then the good frame is found inside it and handled.
	 */
	mh_ctl("inject raw fe0a4481");
	mh_ctl("inject frame AREQ ZDO 0xEE 00");
	mh_ctl("inject raw 0000000000");
	mh_wait_log("AREQ ZDO 0xee from the adapter: nothing handles it", 1);
	mh_wait_log("frames with a bad FCS: 1", 3);

	mh_assert_alive();
	mh_assert_update_works();
}

/*
 * Well framed, but not what the daemon can use: unknown commands, and
 * known ones whose payload is cut short.
 */
static void
t_payloads(void **state)
{
	(void)state;
	mh_ctl("inject frame AREQ SYS 0x7F 0102");
	mh_wait_log("AREQ SYS 0x7f from the adapter: nothing handles it", 1);
	mh_ctl("inject frame SRSP ZDO 0x77 00");
	mh_wait_log("SRSP ZDO 0x77 nobody waits for", 1);
	mh_ctl("inject frame SREQ AF 0x01 00");
	mh_wait_log("ignoring a SREQ frame from the adapter", 1);

	/* AF_INCOMING_MSG from the bulb that ends in its header... */
	mh_ctl("inject frame AREQ AF 0x81 00001900" BULB_NWK_HEX "0b0d00");
	mh_wait_log("AF_INCOMING_MSG cut short (9 bytes), dropped", 1);
	/* ... or claims 12 ZCL bytes and brings 3. */
	mh_ctl("inject frame AREQ AF 0x81 00001900" BULB_NWK_HEX "0b0d00"
	    "960007000000000c" "011001");
	mh_wait_log("AF_INCOMING_MSG cut short (20 bytes), dropped", 1);
	mh_ctl("inject frame AREQ AF 0x82 0000190002" BULB_NWK_HEX);
	mh_wait_log("AF_INCOMING_MSG_EXT cut short (7 bytes), dropped", 1);
	mh_ctl("inject frame AREQ ZDO 0xCA " BULB_NWK_HEX "0100");
	mh_wait_log("ZDO_TC_DEV_IND cut short, dropped", 1);
	mh_ctl("inject frame AREQ ZDO 0xC1 " BULB_NWK_HEX BULB_NWK_HEX);
	mh_wait_log("device announce cut short, dropped", 1);
	mh_ctl("inject frame AREQ ZDO 0xC9 " BULB_NWK_HEX BULB_IEEE_HEX);
	mh_wait_log("ZDO_LEAVE_IND cut short, dropped", 1);

	/* What the simulator cannot make is refused, not half sent. */
	assert_int_equal(mh_ctl_status("inject junk 00"), -1);
	assert_int_equal(mh_ctl_status("inject raw 0g"), -1);
	assert_int_equal(mh_ctl_status("inject frame AREQ NOSUCH 1"), -1);
	assert_int_equal(mh_ctl_status("inject bad-len 256 AREQ AF 1"), -1);
	assert_int_equal(mh_ctl_status("send bulb 25 abc"), -1);
	assert_int_equal(mh_ctl_status("send nobody 25 00"), -1);

	/* A leave cut short must not have cost the bulb its place. */
	mh_assert_alive();
	mh_assert_update_works();
}

/*
 * A Query Next Image Request: the header with TSN, then the fields of
 * the bulb (manufacturer 4107, image type 256, version 100), then PAD
 * zero bytes, which a receiver ignores. Returned as hex.
 */
static char *
mh_query_hex(uint8_t tsn, size_t pad)
{
	char	*hex;
	size_t	 n;

	assert_true(asprintf(&hex, "01%02x01000b10000164000000", tsn) != -1);
	n = strlen(hex);
	assert_non_null(hex = realloc(hex, n + 2 * pad + 1));
	memset(hex + n, '0', 2 * pad);
	hex[n + 2 * pad] = '\0';
	return (hex);
}

/* The daemon answered the bulb's query TSN: Query Next Image Response. */
static void
mh_wait_query_answer(uint8_t tsn)
{
	char	 needle[64];

	snprintf(needle, sizeof(needle), "\"cmd\":2,\"tsn\":%u", tsn);
	mh_wait_ev(needle, 1);
}

/*
 * Messages in AF_INCOMING_MSG_EXT: one too large for an MT frame, which
 * the daemon fetches from the adapter and answers; one that carries its
 * data; one from outside the network; and one too large to take in.
 */
static void
t_incoming_ext(void **state)
{
	char	*hex;

	(void)state;
	/* 300 bytes: fetched in two pieces, then freed in the adapter. */
	hex = mh_query_hex(0xA1, 300 - 12);
	mh_ctl("send bulb 25 %s", hex);
	free(hex);
	mh_wait_query_answer(0xA1);
	assert_int_equal(suite_file_count(suite.events,
	    "\"stamp\":1,\"index\":0,\"len\":240,\"status\":0"), 1);
	assert_int_equal(suite_file_count(suite.events,
	    "\"stamp\":1,\"index\":240,\"len\":60,\"status\":0"), 1);
	assert_int_equal(suite_file_count(suite.events,
	    "\"stamp\":1,\"index\":0,\"len\":0,\"status\":0"), 1);

	/* The EXT form with the data inline, from the bulb's address. */
	hex = mh_query_hex(0xA2, 0);
	mh_ctl("inject frame AREQ AF 0x82 0000190002" BULB_NWK_HEX
	    "0000000000000b621a0d00960007000000000c00%s" BULB_NWK_HEX "1e",
	    hex);
	mh_wait_query_answer(0xA2);

	/* Inter-PAN, named by a 64-bit address: not for an OTA server. */
	mh_ctl("inject frame AREQ AF 0x82 0000190003" BULB_IEEE_HEX
	    "0b621a0d00960007000000000c00%s" BULB_NWK_HEX "1e", hex);
	mh_wait_log("frame from outside the network (address mode 3) "
	    "ignored", 1);
	free(hex);

	/* Too large to take in: refused, and the adapter's copy freed. */
	hex = mh_query_hex(0xA3, 1500);
	mh_ctl("send bulb 25 %s", hex);
	free(hex);
	mh_wait_log("a 1512-byte message from 0x1001 dropped: too large", 1);
	mh_wait_ev("\"stamp\":2,\"index\":0,\"len\":0,\"status\":0", 1);
	assert_int_equal(suite_file_count(suite.events,
	    "\"stamp\":2,\"index\":0,\"len\":240"), 0);

	/* And an ordinary query is answered as ever. */
	hex = mh_query_hex(0xA4, 0);
	mh_ctl("send bulb 25 %s", hex);
	free(hex);
	mh_wait_query_answer(0xA4);
	mh_assert_alive();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_framing, mh_setup,
		    mh_teardown),
		cmocka_unit_test_setup_teardown(t_payloads, mh_setup,
		    mh_teardown),
		cmocka_unit_test_setup_teardown(t_incoming_ext, mh_setup,
		    mh_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
