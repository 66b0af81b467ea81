/*
 * oht_frame.h - OHT/1 (Open Head Tracker) frame encoder and command parser, portable C99.
 *
 * Wire format (little-endian), docs/devices/oht-headset.md:
 *
 *   off 0    A5 5A        sync
 *   off 2    u8  type     0x01 quat, 0x02 quat+gyro+acc, 0x10 info (JSON), 0x7F log;
 *                         host->device 0x80 start, 0x81 stop, 0x82 set rate (u16 Hz),
 *                         0x83 tare, 0x84 fusion mode, 0x85 get info
 *   off 3    u8  len      payload length N (0..239)
 *   off 4    u16 seq      +1 per frame, wraps
 *   off 6    u32 t_us     device monotonic microseconds (0 in host->device frames)
 *   off 10   payload[N]
 *   off 10+N u16 crc      CRC-16/CCITT-FALSE over bytes 2 .. 9+N, little-endian
 *
 * Quaternions are Hamilton, scalar first, sensor->world, int16 Q14 (x 16384); gyro int16 Q9
 * rad/s (x 512); acc int16 Q8 m/s^2 (x 256). Values are rounded half to even (C rint, the
 * default rounding mode) and saturated to int16, exactly like the Python encoder
 * (cervitrack.firmware_bridge.protocols.reference.encode_samples).
 *
 * No allocation, no globals except the parser state the caller owns.
 */
#ifndef OHT_FRAME_H
#define OHT_FRAME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OHT_SYNC0 0xA5u
#define OHT_SYNC1 0x5Au
#define OHT_HEADER_BYTES 10u
#define OHT_OVERHEAD_BYTES 12u
#define OHT_MAX_PAYLOAD 239u
#define OHT_MAX_FRAME (OHT_OVERHEAD_BYTES + OHT_MAX_PAYLOAD)

#define OHT_TYPE_QUAT 0x01u
#define OHT_TYPE_QUAT_IMU 0x02u
#define OHT_TYPE_INFO 0x10u
#define OHT_TYPE_LOG 0x7Fu
#define OHT_CMD_START 0x80u
#define OHT_CMD_STOP 0x81u
#define OHT_CMD_SET_RATE 0x82u
#define OHT_CMD_TARE 0x83u
#define OHT_CMD_FUSION_MODE 0x84u
#define OHT_CMD_GET_INFO 0x85u

#define OHT_QUAT_FRAME_BYTES 22u
#define OHT_QUAT_IMU_FRAME_BYTES 34u

/* Status bits (payload byte after the vectors). */
#define OHT_STATUS_ACCURACY_MASK 0x03u
#define OHT_STATUS_MAG_USED 0x04u
#define OHT_STATUS_TARE_EVENT 0x08u
#define OHT_STATUS_SENSOR_RESET 0x80u

/* CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection; check("123456789") = 0x29B1. */
uint16_t oht_crc16(const uint8_t *data, size_t len);

/* value * scale rounded half to even and saturated to int16. */
int16_t oht_fixed(float value, float scale);

/* Any frame. Returns the frame length, or 0 if len > OHT_MAX_PAYLOAD or cap is too small. */
size_t oht_encode_frame(uint8_t *out, size_t cap, uint8_t type, uint16_t seq, uint32_t t_us,
                        const uint8_t *payload, uint8_t len);

/* Type 0x01 (22 bytes): quaternion w, x, y, z. Returns 22, or 0 if cap < 22. */
size_t oht_encode_quat(uint8_t *out, size_t cap, uint16_t seq, uint32_t t_us,
                       const float quat_wxyz[4], uint8_t status);

/* Type 0x02 (34 bytes): quaternion, gyro rad/s, acc m/s^2 (sensor frame). Returns 34 or 0. */
size_t oht_encode_quat_imu(uint8_t *out, size_t cap, uint16_t seq, uint32_t t_us,
                           const float quat_wxyz[4], const float gyr_rad_s[3],
                           const float acc_m_s2[3], uint8_t status);

/* A complete, CRC-checked frame found by the parser (payload points into the parser and stays
 * valid until the next call on it). */
typedef struct {
    uint8_t type;
    uint8_t len;
    uint16_t seq;
    uint32_t t_us;
    const uint8_t *payload;
} oht_frame_t;

/* Incremental parser: feed bytes one at a time; resynchronises on garbage. */
typedef struct {
    uint8_t buf[OHT_MAX_FRAME];
    uint8_t frame[OHT_MAX_PAYLOAD];
    size_t n;
    uint32_t rejected; /* frames whose CRC failed */
} oht_parser_t;

void oht_parser_init(oht_parser_t *p);

/* Append one byte. Returns 1 and fills *out when a valid frame is complete, else 0. After a
 * 1, call oht_parser_next until it returns 0: bytes kept after a resync may hold more frames. */
int oht_parser_feed(oht_parser_t *p, uint8_t byte, oht_frame_t *out);

/* The next complete frame already buffered (1), or 0. */
int oht_parser_next(oht_parser_t *p, oht_frame_t *out);

#ifdef __cplusplus
}
#endif

#endif /* OHT_FRAME_H */
