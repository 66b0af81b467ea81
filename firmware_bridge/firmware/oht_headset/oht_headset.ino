/*
 * oht_headset.ino - Cervitrack reference head tracker: ESP32 + BNO085 speaking OHT/1.
 *
 * Streams the BNO085's Game Rotation Vector (6-axis fusion: gyro + accelerometer, no
 * magnetometer, so no heading jumps near monitors and speakers) as OHT/1 frames
 * (docs/devices/oht-headset.md) over USB serial and, when a central is
 * connected, over BLE through the Nordic UART Service (TX notify 6E400003, RX write 6E400002).
 * With SEND_IMU set, frames are type 0x02 (quaternion + calibrated gyro + accelerometer);
 * otherwise type 0x01 (quaternion only).
 *
 * Frames: quaternion sensor->world, scalar first, in the BNO085's own axes. Mount the board so
 * that, when worn, x points forward (nose), y left and z up (Cervitrack's headset convention).
 *
 * Timing: a hardware timer ticks at the output rate; each tick takes the latest fused sample and
 * stamps it with the microsecond clock at the tick, so the host sees exact device times however
 * BLE batches them. Frames go to a ring buffer; the BLE task packs as many whole frames as fit
 * in one notification (MTU - 3 bytes) and, when the link is congested and the ring is full,
 * the oldest frame is dropped (never duplicated; the host sees the gap in `seq`).
 *
 * Host commands (OHT/1 host->device frames, on serial or NUS RX): 0x80 start, 0x81 stop,
 * 0x82 set rate (u16 Hz, 10..400), 0x83 tare (heading only: world z stays vertical),
 * 0x84 fusion mode (0 = 6-axis game rotation vector, 1 = 9-axis rotation vector),
 * 0x85 get info (answered with a 0x10 JSON info frame).
 *
 * Written for: Arduino-ESP32 core 3.x (timerBegin(frequency) API), NimBLE-Arduino 2.x and the
 * SparkFun BNO08x Arduino Library 1.0.x. Not compiled in Cervitrack's CI (no Xtensa toolchain
 * there); the frame encoder (oht_frame.c) is, and is tested byte for byte against Python.
 */

#include <Arduino.h>
#include <Wire.h>
#include <NimBLEDevice.h>
#include <SparkFun_BNO08x_Arduino_Library.h>

#include "oht_frame.h"

/* ---- configuration ------------------------------------------------------------------- */

#define SEND_IMU 1                 /* 1: type 0x02 frames with gyro + acc; 0: type 0x01 */
#define DEFAULT_RATE_HZ 100
#define BNO08X_ADDR 0x4A           /* 0x4B when the ADR/SA0 jumper is closed */
#define BNO08X_INT_PIN 4           /* -1 to poll without the interrupt line */
#define BNO08X_RST_PIN 5           /* -1 without a reset line */
#define SDA_PIN 21
#define SCL_PIN 22
#define SERIAL_BAUD 921600         /* ignored by native-USB boards */
#define RING_FRAMES 64             /* about 0.6 s at 100 Hz */
#define BLE_MTU 247                /* >= 185 requested; notifications carry MTU - 3 bytes */
#define CONN_MIN_INTERVAL 6        /* x 1.25 ms = 7.5 ms */
#define CONN_MAX_INTERVAL 12       /* x 1.25 ms = 15 ms (Apple's minimum) */
#define CONN_SUPERVISION_TIMEOUT 400 /* x 10 ms = 4 s */

static const char *NUS_SERVICE = "6E400001-B5A3-F393-E0A9-E50E24DCCA9E";
static const char *NUS_RX = "6E400002-B5A3-F393-E0A9-E50E24DCCA9E";
static const char *NUS_TX = "6E400003-B5A3-F393-E0A9-E50E24DCCA9E";

/* ---- state ----------------------------------------------------------------------------- */

static BNO08x imu;
static hw_timer_t *sampleTimer = nullptr;
static volatile uint32_t tickCount = 0;      /* set by the timer ISR */
static volatile uint32_t tickTimeUs = 0;

static bool streaming = true;
static uint16_t rateHz = DEFAULT_RATE_HZ;
static uint8_t fusionMode = 0;               /* 0 game rotation vector, 1 rotation vector */
static uint8_t pendingStatusBits = 0;        /* tare event / sensor reset, sent once */

static float quat[4] = {1, 0, 0, 0};         /* latest fused quaternion, w x y z */
static float gyr[3] = {0, 0, 0};             /* rad/s */
static float acc[3] = {0, 0, 9.80665f};      /* m/s^2 */
static uint8_t accuracy = 0;
static float tareYawRad = 0.0f;

/* Ring of encoded frames for BLE (drop oldest when full). */
static uint8_t ring[RING_FRAMES][OHT_QUAT_IMU_FRAME_BYTES];
static uint8_t ringLen[RING_FRAMES];
static uint16_t ringHead = 0, ringCount = 0;
static uint32_t droppedFrames = 0;
static portMUX_TYPE ringMux = portMUX_INITIALIZER_UNLOCKED;

static NimBLECharacteristic *txChar = nullptr;
static volatile bool bleConnected = false;
static uint16_t bleMtu = 23;
static oht_parser_t serialParser, bleParser;
static uint16_t replySeq = 0;

/* ---- sampling -------------------------------------------------------------------------- */

void ARDUINO_ISR_ATTR onSampleTimer()
{
    tickTimeUs = (uint32_t)esp_timer_get_time();
    tickCount++;
}

static void startTimer(uint16_t hz)
{
    if (sampleTimer) {
        timerEnd(sampleTimer);
    }
    sampleTimer = timerBegin(1000000);                     /* 1 MHz timer clock */
    timerAttachInterrupt(sampleTimer, &onSampleTimer);
    timerAlarm(sampleTimer, 1000000UL / hz, true, 0);      /* auto-reload */
}

static void enableReports()
{
    uint16_t periodMs = max(1, 1000 / (int)rateHz / 2);    /* sensor runs at twice the output */
    if (fusionMode == 0) {
        imu.enableGameRotationVector(periodMs);
    } else {
        imu.enableRotationVector(periodMs);
    }
#if SEND_IMU
    imu.enableGyro(periodMs);
    imu.enableAccelerometer(periodMs);
#endif
}

static void readSensor()
{
    if (imu.wasReset()) {
        pendingStatusBits |= OHT_STATUS_SENSOR_RESET;
        enableReports();
    }
    while (imu.getSensorEvent()) {
        switch (imu.getSensorEventID()) {
        case SENSOR_REPORTID_GAME_ROTATION_VECTOR:
            quat[0] = imu.getGameQuatReal();
            quat[1] = imu.getGameQuatI();
            quat[2] = imu.getGameQuatJ();
            quat[3] = imu.getGameQuatK();
            accuracy = 3;                                   /* no accuracy estimate in GRV */
            break;
        case SENSOR_REPORTID_ROTATION_VECTOR:
            quat[0] = imu.getQuatReal();
            quat[1] = imu.getQuatI();
            quat[2] = imu.getQuatJ();
            quat[3] = imu.getQuatK();
            accuracy = imu.getQuatAccuracy() & 0x03;
            break;
        case SENSOR_REPORTID_GYROSCOPE_CALIBRATED:
            gyr[0] = imu.getGyroX();
            gyr[1] = imu.getGyroY();
            gyr[2] = imu.getGyroZ();
            break;
        case SENSOR_REPORTID_ACCELEROMETER:
            acc[0] = imu.getAccelX();
            acc[1] = imu.getAccelY();
            acc[2] = imu.getAccelZ();
            break;
        default:
            break;
        }
    }
}

/* Heading tare: q_out = Rz(-tareYaw) * q, so world z stays vertical. */
static void taredQuat(float out[4])
{
    float c = cosf(-tareYawRad / 2), s = sinf(-tareYawRad / 2);
    out[0] = c * quat[0] - s * quat[3];
    out[1] = c * quat[1] - s * quat[2];
    out[2] = c * quat[2] + s * quat[1];
    out[3] = c * quat[3] + s * quat[0];
}

static float currentYawRad()
{
    return atan2f(2 * (quat[0] * quat[3] + quat[1] * quat[2]),
                  1 - 2 * (quat[2] * quat[2] + quat[3] * quat[3]));
}

/* ---- output ---------------------------------------------------------------------------- */

static void pushRing(const uint8_t *frame, size_t len)
{
    portENTER_CRITICAL(&ringMux);
    if (ringCount == RING_FRAMES) {                          /* congested: drop the oldest */
        ringHead = (ringHead + 1) % RING_FRAMES;
        ringCount--;
        droppedFrames++;
    }
    uint16_t slot = (ringHead + ringCount) % RING_FRAMES;
    memcpy(ring[slot], frame, len);
    ringLen[slot] = (uint8_t)len;
    ringCount++;
    portEXIT_CRITICAL(&ringMux);
}

static void sendFrame(const uint8_t *frame, size_t len)
{
    if (Serial.availableForWrite() >= (int)len) {            /* never block on USB */
        Serial.write(frame, len);
    }
    if (bleConnected) {
        pushRing(frame, len);
    }
}

static void flushBle()
{
    if (!bleConnected || txChar == nullptr) {
        return;
    }
    uint8_t packet[BLE_MTU];
    size_t room = (size_t)min<int>(bleMtu, BLE_MTU) - 3;
    while (true) {
        size_t used = 0;
        portENTER_CRITICAL(&ringMux);
        while (ringCount && used + ringLen[ringHead] <= room) {  /* whole frames only */
            memcpy(packet + used, ring[ringHead], ringLen[ringHead]);
            used += ringLen[ringHead];
            ringHead = (ringHead + 1) % RING_FRAMES;
            ringCount--;
        }
        portEXIT_CRITICAL(&ringMux);
        if (used == 0) {
            return;
        }
        txChar->setValue(packet, used);
        txChar->notify();
        if (ringCount < 4) {
            return;                                          /* leave room for this event */
        }
    }
}

static void sendInfo()
{
    char json[200];
    int n = snprintf(json, sizeof json,
                     "{\"firmware\":\"oht-headset\",\"version\":\"1.0.0\",\"protocol\":\"OHT/1\","
                     "\"imu\":\"BNO085\",\"fusion\":\"%s\",\"rate_hz\":%u,\"frame_type\":%u,"
                     "\"dropped_frames\":%lu,\"axes\":\"x forward, y left, z up\"}",
                     fusionMode ? "9-axis" : "6-axis", rateHz, SEND_IMU ? 2u : 1u,
                     (unsigned long)droppedFrames);
    uint8_t frame[OHT_MAX_FRAME];
    size_t len = oht_encode_frame(frame, sizeof frame, OHT_TYPE_INFO, replySeq++,
                                  (uint32_t)esp_timer_get_time(), (const uint8_t *)json,
                                  (uint8_t)min(n, (int)OHT_MAX_PAYLOAD));
    Serial.write(frame, len);
    if (bleConnected && txChar) {
        txChar->setValue(frame, len);
        txChar->notify();
    }
}

static void handleCommand(const oht_frame_t &f)
{
    switch (f.type) {
    case OHT_CMD_START:
        streaming = true;
        break;
    case OHT_CMD_STOP:
        streaming = false;
        break;
    case OHT_CMD_SET_RATE:
        if (f.len >= 2) {
            uint16_t hz = (uint16_t)(f.payload[0] | (f.payload[1] << 8));
            rateHz = constrain(hz, 10, 400);
            enableReports();
            startTimer(rateHz);
        }
        break;
    case OHT_CMD_TARE:
        tareYawRad = currentYawRad();
        pendingStatusBits |= OHT_STATUS_TARE_EVENT;
        break;
    case OHT_CMD_FUSION_MODE:
        if (f.len >= 1 && f.payload[0] <= 1) {
            fusionMode = f.payload[0];
            enableReports();
        }
        break;
    case OHT_CMD_GET_INFO:
        sendInfo();
        break;
    default:
        break;
    }
}

static void pollParser(oht_parser_t *p, uint8_t byte)
{
    oht_frame_t f;
    int ok = oht_parser_feed(p, byte, &f);
    while (ok) {
        handleCommand(f);
        ok = oht_parser_next(p, &f);
    }
}

/* ---- BLE ------------------------------------------------------------------------------- */

class ServerCallbacks : public NimBLEServerCallbacks {
    void onConnect(NimBLEServer *server, NimBLEConnInfo &info) override
    {
        server->updateConnParams(info.getConnHandle(), CONN_MIN_INTERVAL, CONN_MAX_INTERVAL, 0,
                                 CONN_SUPERVISION_TIMEOUT);
        bleConnected = true;
    }
    void onDisconnect(NimBLEServer *, NimBLEConnInfo &, int) override
    {
        bleConnected = false;
        bleMtu = 23;
        NimBLEDevice::startAdvertising();
    }
    void onMTUChange(uint16_t mtu, NimBLEConnInfo &) override { bleMtu = mtu; }
};

class RxCallbacks : public NimBLECharacteristicCallbacks {
    void onWrite(NimBLECharacteristic *c, NimBLEConnInfo &) override
    {
        NimBLEAttValue v = c->getValue();
        for (size_t i = 0; i < v.length(); i++) {
            pollParser(&bleParser, v.data()[i]);
        }
    }
};

static void startBle()
{
    char name[16];
    uint64_t mac = ESP.getEfuseMac();
    snprintf(name, sizeof name, "OHT-%04X", (unsigned)(mac >> 32) & 0xFFFF);
    NimBLEDevice::init(name);
    NimBLEDevice::setMTU(BLE_MTU);
    NimBLEServer *server = NimBLEDevice::createServer();
    server->setCallbacks(new ServerCallbacks());
    NimBLEService *nus = server->createService(NUS_SERVICE);
    txChar = nus->createCharacteristic(NUS_TX, NIMBLE_PROPERTY::NOTIFY);
    NimBLECharacteristic *rx =
        nus->createCharacteristic(NUS_RX, NIMBLE_PROPERTY::WRITE | NIMBLE_PROPERTY::WRITE_NR);
    rx->setCallbacks(new RxCallbacks());
    nus->start();
    NimBLEAdvertising *adv = NimBLEDevice::getAdvertising();
    adv->setName(name);
    adv->addServiceUUID(NUS_SERVICE);
    adv->enableScanResponse(true);
    adv->setPreferredParams(CONN_MIN_INTERVAL, CONN_MAX_INTERVAL);
    adv->start();
}

/* ---- main ------------------------------------------------------------------------------ */

void setup()
{
    Serial.begin(SERIAL_BAUD);
    Wire.begin(SDA_PIN, SCL_PIN);
    Wire.setClock(400000);
    oht_parser_init(&serialParser);
    oht_parser_init(&bleParser);
    while (!imu.begin(BNO08X_ADDR, Wire, BNO08X_INT_PIN, BNO08X_RST_PIN)) {
        const char msg[] = "BNO08x not found: check wiring and I2C address";
        uint8_t frame[OHT_MAX_FRAME];
        size_t len = oht_encode_frame(frame, sizeof frame, OHT_TYPE_LOG, replySeq++, 0,
                                      (const uint8_t *)msg, sizeof msg - 1);
        Serial.write(frame, len);
        delay(1000);
    }
    enableReports();
    startBle();
    startTimer(rateHz);
}

void loop()
{
    static uint32_t lastTick = 0;
    readSensor();
    while (Serial.available()) {
        pollParser(&serialParser, (uint8_t)Serial.read());
    }
    uint32_t ticks = tickCount;
    if (ticks != lastTick) {
        uint32_t t_us = tickTimeUs;
        uint16_t seq = (uint16_t)ticks;  /* the tick number: a missed tick shows as a gap */
        lastTick = ticks;
        if (streaming) {
            float q[4];
            taredQuat(q);
            uint8_t status = accuracy | pendingStatusBits | (fusionMode ? OHT_STATUS_MAG_USED : 0);
            pendingStatusBits = 0;
            uint8_t frame[OHT_QUAT_IMU_FRAME_BYTES];
#if SEND_IMU
            size_t len = oht_encode_quat_imu(frame, sizeof frame, seq, t_us, q, gyr, acc, status);
#else
            size_t len = oht_encode_quat(frame, sizeof frame, seq, t_us, q, status);
#endif
            sendFrame(frame, len);
        }
    }
    flushBle();
}
