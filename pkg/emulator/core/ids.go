package core

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"
)

// NewUUID returns a random (version 4) UUID in its dashed form, the id
// format of Nova, Glance, Neutron, Cinder, Manila, Trove, Designate, Octavia
// and Heat.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// NewHexID returns 32 hex digits: a UUID without dashes, Keystone's id format.
func NewHexID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewSecret returns n random bytes, URL-safe base64 without padding.
func NewSecret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Timestamp layouts the services use in their bodies. All are UTC.
const (
	// TimeSeconds: Nova, Glance, Neutron, Heat, Ironic
	// "2024-01-02T03:04:05Z".
	TimeSeconds = "2006-01-02T15:04:05Z"
	// TimeMicro: Cinder, Manila, Designate, Octavia, Trove
	// "2024-01-02T03:04:05.000000".
	TimeMicro = "2006-01-02T15:04:05.000000"
	// TimeMicroZ: Keystone's expires_at / issued_at "2024-01-02T03:04:05.000000Z".
	TimeMicroZ = "2006-01-02T15:04:05.000000Z"
)

// FormatTime formats t in UTC with one of the layouts above.
func FormatTime(t time.Time, layout string) string { return t.UTC().Format(layout) }
