/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "sim.h"

void
rd_init(struct sim_rd *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->err = 0;
}

/* True when N more bytes can be read; flags the reader otherwise. */
static int
rd_need(struct sim_rd *r, size_t n)
{
	if (r->err || r->len - r->off < n) {
		r->err = 1;
		return (0);
	}
	return (1);
}

uint8_t
rd_u8(struct sim_rd *r)
{
	if (!rd_need(r, 1))
		return (0);
	return (r->p[r->off++]);
}

uint16_t
rd_u16(struct sim_rd *r)
{
	uint16_t	 v;

	if (!rd_need(r, 2))
		return (0);
	v = (uint16_t)(r->p[r->off] | r->p[r->off + 1] << 8);
	r->off += 2;
	return (v);
}

uint32_t
rd_u32(struct sim_rd *r)
{
	uint32_t	 lo, hi;

	lo = rd_u16(r);
	hi = rd_u16(r);
	return (lo | hi << 16);
}

void
rd_bytes(struct sim_rd *r, void *out, size_t n)
{
	if (!rd_need(r, n)) {
		memset(out, 0, n);
		return;
	}
	memcpy(out, r->p + r->off, n);
	r->off += n;
}

size_t
rd_left(const struct sim_rd *r)
{
	return (r->err ? 0 : r->len - r->off);
}

void
wr_init(struct sim_wr *w)
{
	w->len = 0;
	w->err = 0;
}

void
wr_bytes(struct sim_wr *w, const void *p, size_t n)
{
	if (w->err || sizeof(w->buf) - w->len < n) {
		w->err = 1;
		return;
	}
	if (n > 0)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void
wr_u8(struct sim_wr *w, uint8_t v)
{
	wr_bytes(w, &v, 1);
}

void
wr_u16(struct sim_wr *w, uint16_t v)
{
	uint8_t	 b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	wr_bytes(w, b, sizeof(b));
}

void
wr_u32(struct sim_wr *w, uint32_t v)
{
	wr_u16(w, (uint16_t)v);
	wr_u16(w, (uint16_t)(v >> 16));
}

struct sim_timer {
	TAILQ_ENTRY(sim_timer) entry;
	struct sim	*sim;
	struct event	*ev;
	void		(*fn)(void *);
	void		*arg;
	int		 fn_frees_arg;
};

static void
sim_timer_fire(evutil_socket_t fd, short what, void *arg)
{
	struct sim_timer	*t = arg;

	(void)fd;
	(void)what;
	TAILQ_REMOVE(&t->sim->timers, t, entry);
	t->fn(t->arg);
	event_free(t->ev);
	free(t);
}

void
sim_timers_free(struct sim *sim)
{
	struct sim_timer	*t;

	/* Their arguments were allocated by the callers: free them too. */
	while ((t = TAILQ_FIRST(&sim->timers)) != NULL) {
		TAILQ_REMOVE(&sim->timers, t, entry);
		event_free(t->ev);
		if (t->fn_frees_arg)
			free(t->arg);
		free(t);
	}
}

static void
sim_timer_add(struct sim *sim, uint32_t ms, void (*fn)(void *), void *arg,
    int owned)
{
	struct sim_timer	*t;
	struct timeval		 tv;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		fatal("%s", __func__);
	t->sim = sim;
	t->fn = fn;
	t->arg = arg;
	t->fn_frees_arg = owned;
	TAILQ_INSERT_TAIL(&sim->timers, t, entry);
	if ((t->ev = evtimer_new(sim->base, sim_timer_fire, t)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(t->ev, &tv);
}

void
sim_later(struct sim *sim, uint32_t ms, void (*fn)(void *), void *arg)
{
	sim_timer_add(sim, ms, fn, arg, 0);
}

void
sim_later_owned(struct sim *sim, uint32_t ms, void (*fn)(void *), void *arg)
{
	sim_timer_add(sim, ms, fn, arg, 1);
}

/* splitmix64: small, fast, and the same on every platform. */
void
rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream)
{
	r->s = seed ^ (stream * 0x9E3779B97F4A7C15ULL);
}

uint32_t
rng_next(struct sim_rng *r)
{
	uint64_t	 z;

	z = (r->s += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return ((uint32_t)((z ^ (z >> 31)) >> 32));
}

int
rng_chance(struct sim_rng *r, double p)
{
	if (p <= 0)
		return (0);
	return ((double)rng_next(r) / 4294967296.0 < p);
}

uint32_t
rng_range(struct sim_rng *r, uint32_t lo, uint32_t hi)
{
	if (hi <= lo)
		return (lo);
	return (lo + rng_next(r) % (hi - lo + 1));
}

uint64_t
sim_now_ms(struct sim *sim)
{
	struct timespec	 ts;
	uint64_t	 now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	return (now - sim->start_ms);
}

int
ieee_parse(const char *s, uint8_t ieee[8])
{
	uint64_t	 v;
	int		 i;

	if (strncmp(s, "0x", 2) != 0 || strlen(s) != 18)
		return (-1);
	/* strtoull would also take a sign or blanks: check each digit. */
	for (i = 2; i < 18; i++)
		if (!isxdigit((unsigned char)s[i]))
			return (-1);
	v = strtoull(s + 2, NULL, 16);
	for (i = 0; i < 8; i++)
		ieee[i] = (uint8_t)(v >> (8 * i));
	return (0);
}

void
ieee_format(const uint8_t ieee[8], char out[19])
{
	static const char	 digits[] = "0123456789abcdef";
	int			 i;

	out[0] = '0';
	out[1] = 'x';
	for (i = 0; i < 8; i++) {
		out[2 + 2 * i] = digits[ieee[7 - i] >> 4];
		out[3 + 2 * i] = digits[ieee[7 - i] & 0xf];
	}
	out[18] = '\0';
}

static int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (-1);
}

int
hex_parse(const char *s, uint8_t *out, size_t max, size_t *len)
{
	size_t	 i, n = strlen(s);
	int	 hi, lo;

	if (n % 2 != 0 || n / 2 > max)
		return (-1);
	for (i = 0; i < n / 2; i++) {
		hi = hex_digit((unsigned char)s[2 * i]);
		lo = hex_digit((unsigned char)s[2 * i + 1]);
		if (hi == -1 || lo == -1)
			return (-1);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return (0);
}
