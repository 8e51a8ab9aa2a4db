/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_MT_H
#define ZOTAD_MT_H

/*
 * TI Z-Stack MT/UNPI frame codec. Pure code, no I/O: it turns frames into
 * bytes and a stream of bytes from the adapter back into frames.
 *
 * On the wire a frame is
 *	SOF (0xFE) | LEN | CMD0 | CMD1 | DATA[LEN] | FCS
 * where CMD0 carries the frame type in bits 7-5 and the subsystem in bits
 * 4-0, and FCS is the XOR of LEN, CMD0, CMD1 and the data bytes.
 */

#include <stddef.h>
#include <stdint.h>

#define MT_SOF			0xFE
#define MT_MAX_PAYLOAD		250	/* both known hosts refuse more */
#define MT_OVERHEAD		5	/* SOF, LEN, CMD0, CMD1, FCS */
#define MT_FRAME_MAX		(MT_MAX_PAYLOAD + MT_OVERHEAD)

/* Frame types, CMD0 bits 7-5. */
#define MT_TYPE_POLL		0
#define MT_TYPE_SREQ		1
#define MT_TYPE_AREQ		2
#define MT_TYPE_SRSP		3

/* Subsystems, CMD0 bits 4-0. */
#define MT_SUBSYS_RPC_ERROR	0x00
#define MT_SUBSYS_SYS		0x01
#define MT_SUBSYS_MAC		0x02
#define MT_SUBSYS_NWK		0x03
#define MT_SUBSYS_AF		0x04
#define MT_SUBSYS_ZDO		0x05
#define MT_SUBSYS_SAPI		0x06
#define MT_SUBSYS_UTIL		0x07
#define MT_SUBSYS_DEBUG		0x08
#define MT_SUBSYS_APP		0x09
#define MT_SUBSYS_OTA		0x0A
#define MT_SUBSYS_ZNP		0x0B
#define MT_SUBSYS_UBL		0x0D
#define MT_SUBSYS_APP_CNF	0x0F
#define MT_SUBSYS_GP		0x15

/* Error codes of the RPC error SRSP (subsystem 0, command 0). */
#define MT_RPC_ERR_SUBSYS	0x01
#define MT_RPC_ERR_CMD		0x02
#define MT_RPC_ERR_PARAM	0x03
#define MT_RPC_ERR_LENGTH	0x04

struct mt_frame {
	uint8_t		 type;		/* MT_TYPE_* */
	uint8_t		 subsys;	/* MT_SUBSYS_* */
	uint8_t		 cmd;		/* CMD1 */
	uint8_t		 len;		/* payload bytes in data */
	uint8_t		 data[MT_MAX_PAYLOAD];
};

/* Build CMD0 from a type and a subsystem (both are masked to their bits). */
uint8_t	mt_cmd0(uint8_t type, uint8_t subsys);

/* The type and subsystem held in a CMD0 byte. */
uint8_t	mt_cmd0_type(uint8_t cmd0);
uint8_t	mt_cmd0_subsys(uint8_t cmd0);

/* Printable names for logs and event records; "?" when unknown. */
const char *mt_type_name(uint8_t type);
const char *mt_subsys_name(uint8_t subsys);

/* XOR checksum of LEN bytes at BUF. */
uint8_t	mt_fcs(const uint8_t *buf, size_t len);

/*
 * Fill F with the given header and a copy of LEN payload bytes.
 * Returns 0, or -1 when LEN exceeds MT_MAX_PAYLOAD (F is left untouched).
 */
int	mt_frame_set(struct mt_frame *f, uint8_t type, uint8_t subsys,
	    uint8_t cmd, const void *data, size_t len);

/*
 * Encode F into OUT (OUTLEN bytes of room) with SOF and FCS. Returns the
 * number of bytes written (F->len + MT_OVERHEAD), or 0 when OUTLEN is too
 * small or F->len exceeds MT_MAX_PAYLOAD.
 */
size_t	mt_encode(const struct mt_frame *f, uint8_t *out, size_t outlen);

/*
 * The RPC error SRSP a device sends for a request it cannot handle:
 * subsystem 0, command 0, payload ERR then the request's CMD0 and CMD1.
 */
void	mt_rpc_error(struct mt_frame *f, uint8_t err,
	    const struct mt_frame *req);

/*
 * Incremental decoder. Bytes are fed as they arrive, in pieces of any
 * size; each complete frame with a good FCS is handed to the callback.
 * Bytes before a SOF are skipped, a LEN over MT_MAX_PAYLOAD or a bad FCS
 * drops only the SOF, and the search for the next SOF restarts right
 * after it, so one corrupted frame never costs the frames that follow.
 */
typedef void (*mt_frame_cb)(const struct mt_frame *f, void *arg);

struct mt_decoder {
	uint8_t		 buf[MT_FRAME_MAX];
	size_t		 have;
	/* Counters for diagnostics; never reset by the decoder itself. */
	uint64_t	 frames;	/* good frames delivered */
	uint64_t	 skipped;	/* bytes dropped outside any frame */
	uint64_t	 bad_fcs;	/* frames dropped for their checksum */
	uint64_t	 bad_len;	/* SOFs dropped for an impossible LEN */
};

/* Start D empty with all counters at zero. */
void	mt_decoder_init(struct mt_decoder *d);

/* Forget any partial frame (after a reconnect); counters are kept. */
void	mt_decoder_reset(struct mt_decoder *d);

/*
 * Feed LEN bytes from IN. CB is called with ARG once per complete frame,
 * in order; the frame is only valid during the call. CB may call
 * mt_decoder_reset on D.
 */
void	mt_decoder_feed(struct mt_decoder *d, const uint8_t *in, size_t len,
	    mt_frame_cb cb, void *arg);

#endif
