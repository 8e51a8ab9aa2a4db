/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * The broker connection. libmosquitto runs without its own thread: we
 * watch its socket with libevent, call its read and write steps when
 * the socket is ready and its housekeeping (keep-alive) once a second.
 * Lost connections are retried with a doubling back-off.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "mqttd.h"

enum mqc_phase {
	MQC_IDLE,		/* not started, or stopped */
	MQC_CONNECTING,		/* TCP connect under way */
	MQC_UP,			/* socket open (CONNACK may be pending) */
	MQC_WAITING		/* the reconnect timer runs */
};

struct mqc {
	struct event_base		*base;
	const struct config_mqtt	*conf;
	struct mosquitto		*mosq;
	SSL_CTX				*ssl;
	struct mqc_cbs			 cbs;
	void				*arg;
	struct event			*ev_read;
	struct event			*ev_write;
	struct event			*ev_misc;
	struct event			*ev_retry;
	int				 sock;
	enum mqc_phase			 phase;
	int				 connected;
	int				 backoff;	/* seconds */
	int				 started;
};

static void	mqc_arm(struct mqc *c);
static void	mqc_lost(struct mqc *c);

static void
mqc_on_connect(struct mosquitto *m, void *arg, int rc)
{
	struct mqc	*c = arg;

	(void)m;
	if (rc != 0) {
		log_warnx("broker %s refused the connection: %s",
		    c->conf->server, mosquitto_connack_string(rc));
		return;
	}
	log_info("connected to broker %s", c->conf->server);
	daemon_status("connected to broker %s", c->conf->server);
	c->connected = 1;
	c->backoff = MQC_BACKOFF_MIN;
	if (c->cbs.connected != NULL)
		c->cbs.connected(c->arg);
	mqc_arm(c);
}

static void
mqc_on_disconnect(struct mosquitto *m, void *arg, int rc)
{
	struct mqc	*c = arg;

	(void)m;
	if (c->connected && rc != 0)
		log_warnx("lost the broker %s: %s", c->conf->server,
		    mosquitto_strerror(rc));
	c->connected = 0;
}

static void
mqc_on_message(struct mosquitto *m, void *arg,
    const struct mosquitto_message *msg)
{
	struct mqc	*c = arg;
	char		*copy;
	size_t		 len;

	(void)m;
	if (c->cbs.message == NULL || msg->payloadlen < 0)
		return;
	len = (size_t)msg->payloadlen;
	/* A private NUL-terminated copy, so parsers can treat it as text. */
	if ((copy = malloc(len + 1)) == NULL) {
		log_warn("%s", __func__);
		return;
	}
	if (len > 0)
		memcpy(copy, msg->payload, len);
	copy[len] = '\0';
	c->cbs.message(msg->topic, copy, len, msg->retain, c->arg);
	free(copy);
}

static void
mqc_events_free(struct mqc *c)
{
	if (c->ev_read != NULL)
		event_free(c->ev_read);
	if (c->ev_write != NULL)
		event_free(c->ev_write);
	c->ev_read = c->ev_write = NULL;
	c->sock = -1;
}

/* Tear down and try again later, doubling the wait each time. */
static void
mqc_lost(struct mqc *c)
{
	struct timeval	 tv;

	mqc_events_free(c);
	c->connected = 0;
	if (c->phase == MQC_IDLE || c->phase == MQC_WAITING)
		return;
	c->phase = MQC_WAITING;
	daemon_status("reconnecting to broker %s", c->conf->server);
	tv.tv_sec = c->backoff;
	tv.tv_usec = 0;
	log_debug("reconnecting to %s in %d s", c->conf->server, c->backoff);
	evtimer_add(c->ev_retry, &tv);
	c->backoff *= 2;
	if (c->backoff > MQC_BACKOFF_MAX)
		c->backoff = MQC_BACKOFF_MAX;
}

/* After a library step: a closed socket means the connection is gone. */
static void
mqc_after(struct mqc *c, int rc)
{
	if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(c->mosq) == -1) {
		if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN)
			log_debug("broker connection: %s",
			    mosquitto_strerror(rc));
		mqc_lost(c);
		return;
	}
	mqc_arm(c);
}

static void
mqc_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct mqc	*c = arg;

	(void)fd;
	(void)what;
	mqc_after(c, mosquitto_loop_read(c->mosq, 1));
}

static void
mqc_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct mqc	*c = arg;
	int		 rc;

	(void)fd;
	(void)what;
	if (c->phase == MQC_CONNECTING) {
		/*
		 * libmosquitto 2.0 leaves a non-blocking connect pending
		 * until its own loop sees the socket writable; one pass of
		 * it with no wait completes the connect and sends CONNECT.
		 */
		c->phase = MQC_UP;
		rc = mosquitto_loop(c->mosq, 0, 1);
	} else
		rc = mosquitto_loop_write(c->mosq, 1);
	mqc_after(c, rc);
}

static void
mqc_on_misc(evutil_socket_t fd, short what, void *arg)
{
	struct mqc	*c = arg;

	(void)fd;
	(void)what;
	if (c->phase != MQC_UP && c->phase != MQC_CONNECTING)
		return;
	mqc_after(c, mosquitto_loop_misc(c->mosq));
}

/* Watch the library's socket: read always, write while it has output. */
static void
mqc_arm(struct mqc *c)
{
	int	 s;

	if ((s = mosquitto_socket(c->mosq)) == -1)
		return;
	if (s != c->sock) {
		mqc_events_free(c);
		c->sock = s;
		c->ev_read = event_new(c->base, s, EV_READ | EV_PERSIST,
		    mqc_on_read, c);
		c->ev_write = event_new(c->base, s, EV_WRITE, mqc_on_write,
		    c);
		if (c->ev_read == NULL || c->ev_write == NULL)
			fatalx("%s: event_new", __func__);
		event_add(c->ev_read, NULL);
	}
	if (c->phase == MQC_CONNECTING || mosquitto_want_write(c->mosq))
		event_add(c->ev_write, NULL);
}

/*
 * XXX libmosquitto resolves the broker's name with a blocking lookup
 * before its non-blocking connect; a resolver that hangs holds up the
 * loop meanwhile. Brokers are almost always an address or a local
 * name, so this is acceptable until the lookup moves off the loop.
 */
static void
mqc_connect(struct mqc *c)
{
	int	 rc;

	c->phase = MQC_CONNECTING;
	if (c->started)
		rc = mosquitto_reconnect_async(c->mosq);
	else
		rc = mosquitto_connect_async(c->mosq, c->conf->host,
		    c->conf->port, c->conf->keepalive);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_warnx("cannot connect to %s: %s", c->conf->server,
		    rc == MOSQ_ERR_ERRNO ? strerror(errno) :
		    mosquitto_strerror(rc));
		mqc_lost(c);
		return;
	}
	c->started = 1;
	mqc_arm(c);
}

static void
mqc_on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	mqc_connect(arg);
}

static int
mqc_tls_files(SSL_CTX *ssl, const struct config_mqtt *conf)
{
	if (conf->ca != NULL) {
		if (SSL_CTX_load_verify_locations(ssl, conf->ca, NULL) != 1) {
			log_warnx("mqtt.ca %s: cannot load the CA certificates",
			    conf->ca);
			return (-1);
		}
	} else if (SSL_CTX_set_default_verify_paths(ssl) != 1) {
		log_warnx("cannot load the system's CA certificates");
		return (-1);
	}
	if (conf->cert != NULL && SSL_CTX_use_certificate_chain_file(ssl,
	    conf->cert) != 1) {
		log_warnx("mqtt.cert %s: cannot load the certificate",
		    conf->cert);
		return (-1);
	}
	if (conf->key != NULL && (SSL_CTX_use_PrivateKey_file(ssl, conf->key,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ssl) != 1)) {
		log_warnx("mqtt.key %s: cannot load the key, or it does not "
		    "match the certificate", conf->key);
		return (-1);
	}
	return (0);
}

/*
 * Our own TLS context: libmosquitto would otherwise read the CA files at
 * the first connect, inside the sandbox, where no file may be opened.
 */
static SSL_CTX *
mqc_tls_new(const struct config_mqtt *conf)
{
	SSL_CTX		*ssl;
	X509_VERIFY_PARAM *param;

	if ((ssl = SSL_CTX_new(TLS_client_method())) == NULL) {
		log_warnx("SSL_CTX_new failed");
		return (NULL);
	}
	SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION);
	if (mqc_tls_files(ssl, conf) == -1) {
		SSL_CTX_free(ssl);
		return (NULL);
	}
	if (conf->reject_unauthorized) {
		SSL_CTX_set_verify(ssl, SSL_VERIFY_PEER, NULL);
		param = SSL_CTX_get0_param(ssl);
		X509_VERIFY_PARAM_set_hostflags(param,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (X509_VERIFY_PARAM_set1_host(param, conf->host, 0) != 1 &&
		    X509_VERIFY_PARAM_set1_ip_asc(param, conf->host) != 1) {
			log_warnx("cannot check the broker's name %s",
			    conf->host);
			SSL_CTX_free(ssl);
			return (NULL);
		}
	} else {
		log_warnx("mqtt.reject_unauthorized is false: the broker's "
		    "certificate is not checked");
		SSL_CTX_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	}
	return (ssl);
}

static int
mqc_options(struct mqc *c, const char *will_topic, const char *will_payload)
{
	const struct config_mqtt *conf = c->conf;
	int			 rc = MOSQ_ERR_SUCCESS;

	mosquitto_int_option(c->mosq, MOSQ_OPT_PROTOCOL_VERSION,
	    conf->version == 3 ? MQTT_PROTOCOL_V31 : conf->version == 5 ?
	    MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
	if (conf->user != NULL)
		rc = mosquitto_username_pw_set(c->mosq, conf->user,
		    conf->password);
	if (rc == MOSQ_ERR_SUCCESS && will_topic != NULL)
		rc = mosquitto_will_set(c->mosq, will_topic,
		    (int)strlen(will_payload), will_payload, 1, true);
	if (rc == MOSQ_ERR_SUCCESS && conf->tls) {
		if ((c->ssl = mqc_tls_new(conf)) == NULL)
			return (-1);
		rc = mosquitto_void_option(c->mosq, MOSQ_OPT_SSL_CTX, c->ssl);
		if (rc == MOSQ_ERR_SUCCESS)
			rc = mosquitto_int_option(c->mosq,
			    MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
	}
	if (rc != MOSQ_ERR_SUCCESS) {
		log_warnx("mqtt options: %s", mosquitto_strerror(rc));
		return (-1);
	}
	return (0);
}

struct mqc *
mqc_new(struct event_base *base, const struct config_mqtt *conf,
    const char *will_topic, const char *will_payload,
    const struct mqc_cbs *cbs, void *arg)
{
	struct mqc	*c;
	struct timeval	 sec = { 1, 0 };

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("%s", __func__);
		return (NULL);
	}
	mosquitto_lib_init();
	c->base = base;
	c->conf = conf;
	c->cbs = *cbs;
	c->arg = arg;
	c->sock = -1;
	c->backoff = MQC_BACKOFF_MIN;
	if ((c->mosq = mosquitto_new(conf->client_id, true, c)) == NULL) {
		log_warn("mosquitto_new");
		free(c);
		return (NULL);
	}
	mosquitto_connect_callback_set(c->mosq, mqc_on_connect);
	mosquitto_disconnect_callback_set(c->mosq, mqc_on_disconnect);
	mosquitto_message_callback_set(c->mosq, mqc_on_message);
	c->ev_misc = event_new(base, -1, EV_PERSIST, mqc_on_misc, c);
	c->ev_retry = evtimer_new(base, mqc_on_retry, c);
	if (c->ev_misc == NULL || c->ev_retry == NULL ||
	    mqc_options(c, will_topic, will_payload) == -1) {
		mqc_free(c);
		return (NULL);
	}
	event_add(c->ev_misc, &sec);
	return (c);
}

int
mqc_start(struct mqc *c)
{
	mqc_connect(c);
	return (0);
}

int
mqc_publish_raw(struct mqc *c, const char *topic, const void *payload,
    size_t len, int qos, int retain)
{
	int	 rc;

	if (!c->connected || len > INT32_MAX)
		return (-1);
	rc = mosquitto_publish(c->mosq, NULL, topic, (int)len, payload, qos,
	    retain != 0);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_debug("publish %s: %s", topic, mosquitto_strerror(rc));
		return (-1);
	}
	mqc_arm(c);
	return (0);
}

int
mqc_publish(struct mqc *c, const char *topic, const char *payload, int qos,
    int retain)
{
	return (mqc_publish_raw(c, topic, payload, strlen(payload), qos,
	    retain));
}

int
mqc_subscribe(struct mqc *c, const char *pattern, int qos)
{
	int	 rc;

	if (!c->connected)
		return (-1);
	if ((rc = mosquitto_subscribe(c->mosq, NULL, pattern, qos)) !=
	    MOSQ_ERR_SUCCESS) {
		log_warnx("subscribe %s: %s", pattern, mosquitto_strerror(rc));
		return (-1);
	}
	mqc_arm(c);
	return (0);
}

int
mqc_connected(const struct mqc *c)
{
	return (c->connected);
}

void
mqc_stop(struct mqc *c)
{
	int	 i;

	if (c->connected) {
		/* Flush what is queued (the offline state) before leaving. */
		for (i = 0; i < 100 && mosquitto_want_write(c->mosq); i++)
			if (mosquitto_loop_write(c->mosq, 1) !=
			    MOSQ_ERR_SUCCESS)
				break;
		mosquitto_disconnect(c->mosq);
		mosquitto_loop_write(c->mosq, 1);
	}
	c->phase = MQC_IDLE;
	c->connected = 0;
	evtimer_del(c->ev_retry);
	mqc_events_free(c);
}

void
mqc_free(struct mqc *c)
{
	if (c == NULL)
		return;
	mqc_events_free(c);
	if (c->ev_misc != NULL)
		event_free(c->ev_misc);
	if (c->ev_retry != NULL)
		event_free(c->ev_retry);
	if (c->mosq != NULL)
		mosquitto_destroy(c->mosq);
	if (c->ssl != NULL)
		SSL_CTX_free(c->ssl);
	free(c);
}
