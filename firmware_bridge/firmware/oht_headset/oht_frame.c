/*
 * oht_frame.c - OHT/1 frame encoder and command parser. See oht_frame.h.
 */
#include "oht_frame.h"

#include <math.h>
#include <string.h>

uint16_t oht_crc16(const uint8_t *data, size_t len)
{
    uint16_t crc = 0xFFFFu;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((uint16_t)data[i] << 8);
        for (int bit = 0; bit < 8; bit++) {
            crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

int16_t oht_fixed(float value, float scale)
{
    double x = rint((double)value * (double)scale);
    if (!(x >= -32768.0)) { /* also catches NaN */
        return (int16_t)(x != x ? 0 : -32768);
    }
    if (x > 32767.0) {
        return 32767;
    }
    return (int16_t)x;
}

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
    p[2] = (uint8_t)((v >> 16) & 0xFFu);
    p[3] = (uint8_t)(v >> 24);
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | ((uint16_t)p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

size_t oht_encode_frame(uint8_t *out, size_t cap, uint8_t type, uint16_t seq, uint32_t t_us,
                        const uint8_t *payload, uint8_t len)
{
    size_t total = OHT_OVERHEAD_BYTES + (size_t)len;
    if (len > OHT_MAX_PAYLOAD || cap < total || (len && payload == NULL)) {
        return 0;
    }
    out[0] = OHT_SYNC0;
    out[1] = OHT_SYNC1;
    out[2] = type;
    out[3] = len;
    put_u16(out + 4, seq);
    put_u32(out + 6, t_us);
    if (len) {
        memmove(out + OHT_HEADER_BYTES, payload, len);
    }
    put_u16(out + OHT_HEADER_BYTES + len, oht_crc16(out + 2, OHT_HEADER_BYTES - 2 + (size_t)len));
    return total;
}

static void put_vec(uint8_t *p, const float *v, int n, float scale)
{
    for (int i = 0; i < n; i++) {
        put_u16(p + 2 * i, (uint16_t)oht_fixed(v[i], scale));
    }
}

size_t oht_encode_quat(uint8_t *out, size_t cap, uint16_t seq, uint32_t t_us,
                       const float quat_wxyz[4], uint8_t status)
{
    uint8_t payload[10];
    put_vec(payload, quat_wxyz, 4, 16384.0f);
    payload[8] = status;
    payload[9] = 0;
    return oht_encode_frame(out, cap, OHT_TYPE_QUAT, seq, t_us, payload, sizeof payload);
}

size_t oht_encode_quat_imu(uint8_t *out, size_t cap, uint16_t seq, uint32_t t_us,
                           const float quat_wxyz[4], const float gyr_rad_s[3],
                           const float acc_m_s2[3], uint8_t status)
{
    uint8_t payload[22];
    put_vec(payload, quat_wxyz, 4, 16384.0f);
    put_vec(payload + 8, gyr_rad_s, 3, 512.0f);
    put_vec(payload + 14, acc_m_s2, 3, 256.0f);
    payload[20] = status;
    payload[21] = 0;
    return oht_encode_frame(out, cap, OHT_TYPE_QUAT_IMU, seq, t_us, payload, sizeof payload);
}

void oht_parser_init(oht_parser_t *p)
{
    p->n = 0;
    p->rejected = 0;
}

/* Drop bytes up to the next possible sync (at least one byte). */
static void resync(oht_parser_t *p)
{
    size_t i = 1;
    while (i < p->n && p->buf[i] != OHT_SYNC0) {
        i++;
    }
    memmove(p->buf, p->buf + i, p->n - i);
    p->n -= i;
}

int oht_parser_next(oht_parser_t *p, oht_frame_t *out)
{
    for (;;) {
        if (p->n == 0) {
            return 0;
        }
        if (p->buf[0] != OHT_SYNC0 || (p->n >= 2 && p->buf[1] != OHT_SYNC1)
            || (p->n >= 4 && p->buf[3] > OHT_MAX_PAYLOAD)) {
            resync(p);
            continue;
        }
        if (p->n < 4 || p->n < OHT_OVERHEAD_BYTES + (size_t)p->buf[3]) {
            return 0;
        }
        size_t len = p->buf[3];
        size_t total = OHT_OVERHEAD_BYTES + len;
        uint16_t crc = get_u16(p->buf + OHT_HEADER_BYTES + len);
        if (crc != oht_crc16(p->buf + 2, OHT_HEADER_BYTES - 2 + len)) {
            p->rejected++;
            resync(p);
            continue;
        }
        memcpy(p->frame, p->buf + OHT_HEADER_BYTES, len);
        out->type = p->buf[2];
        out->len = (uint8_t)len;
        out->seq = get_u16(p->buf + 4);
        out->t_us = get_u32(p->buf + 6);
        out->payload = p->frame;
        memmove(p->buf, p->buf + total, p->n - total);
        p->n -= total;
        return 1;
    }
}

int oht_parser_feed(oht_parser_t *p, uint8_t byte, oht_frame_t *out)
{
    if (p->n == 0 && byte != OHT_SYNC0) {
        return 0;
    }
    p->buf[p->n++] = byte;
    return oht_parser_next(p, out);
}
