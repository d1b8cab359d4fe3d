package zaqar

import (
	"fmt"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func TestSignURL(t *testing.T) {
	// Reference: zaqar.common.urls.create_signed_url('secret',
	// ['/v2/queues/q/messages', '/v2/queues/q/claims'], project='p1',
	// expires='2099-01-02T03:04:05', methods=['POST', 'GET']).
	out, err := signURL("secret", []string{"/v2/queues/q/messages", "/v2/queues/q/claims"}, []string{"POST", "GET"}, "p1",
		"2099-01-02T03:04:05", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"paths": ["/v2/queues/q/claims", "/v2/queues/q/messages"], "methods": ["GET", "POST"], "project": "p1", ` +
		`"expires": "2099-01-02T03:04:05", "signature": "9e13c4c514a80a0484ef0fb78319f3ebbc75f5855ad4d7c016df24bdc0d152a5"}`
	if got := string(core.PyJSON(out, false)); got != want {
		t.Errorf("signURL:\n got %s\nwant %s", got, want)
	}
	for expires, msg := range map[string]string{
		"2000-01-01T00:00:00": "`expires` is lower than the current time",
		"12345":               "`expires` should be date format, for example 2016-01-01T00:00:00, not integer value: 12345",
		"tomorrow":            "Unable to parse date string 'tomorrow'",
	} {
		if _, err := signURL("k", []string{"/p"}, nil, "p", expires, time.Now()); fmt.Sprint(err) != msg {
			t.Errorf("expires %q: %v", expires, err)
		}
	}
	def, _ := signURL("k", []string{"/p"}, nil, "p", "", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	if e, _ := def.Get("expires"); e != "2030-01-02T00:00:00" {
		t.Errorf("default expiry: %v", e)
	}
	if m, _ := def.Get("methods"); fmt.Sprint(m) != "[GET]" {
		t.Errorf("default methods: %v", m)
	}
}

func TestValidUUID(t *testing.T) {
	for s, ok := range map[string]bool{
		"3b4fd6e4-7a8a-4d1a-8f52-6ad4e1b6cb8f":          true,
		"3b4fd6e47a8a4d1a8f526ad4e1b6cb8f":              true,
		"{3B4FD6E4-7A8A-4D1A-8F52-6AD4E1B6CB8F}":        true,
		"urn:uuid:3b4fd6e4-7a8a-4d1a-8f52-6ad4e1b6cb8f": true,
		"not-a-uuid": false, "": false, "3b4fd6e4-7a8a-4d1a-8f52-6ad4e1b6cb8": false,
	} {
		if validUUID(s) != ok {
			t.Errorf("validUUID(%q) != %v", s, ok)
		}
	}
}

func TestAcceptsJSON(t *testing.T) {
	for accept, ok := range map[string]bool{
		"": true, "*/*": true, "application/json": true, "application/*": true, "text/html, application/json;q=0.1": true,
		"text/plain": false, "application/json;q=0": false,
	} {
		if acceptsJSON(accept) != ok {
			t.Errorf("acceptsJSON(%q) != %v", accept, ok)
		}
	}
}

func TestDecodePointer(t *testing.T) {
	for p, want := range map[string]string{
		"/metadata/a": "[metadata a]", "/metadata/a~1b~0c": "[metadata a/b~c]",
		"metadata/a":    `400 Pointer ` + "`metadata/a`" + ` does not start with "/".`,
		"/metadata//a":  `400 Pointer ` + "`/metadata//a`" + ` contains adjacent "/".`,
		"/metadata/a/":  `400 Pointer ` + "`/metadata/a/`" + ` end with "/".`,
		"/metadata/a~2": `400 Pointer ` + "`/metadata/a~2`" + ` contains "~" not part of a recognized escape sequence.`,
	} {
		got, err := decodePointer(p)
		s := fmt.Sprint(got)
		if err != nil {
			s = err.Error()
		}
		if s != want {
			t.Errorf("decodePointer(%q) = %s, want %s", p, s, want)
		}
	}
}

func TestMessageLifecycle(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	m := &Message{TTL: 100, Created: now, Expires: now.Add(100 * time.Second)}
	// A claim of 60 s with 60 s of grace keeps the message 120 s.
	extend(m, now, 60, 60)
	if m.TTL != 120 || !m.Expires.Equal(now.Add(120*time.Second)) {
		t.Errorf("extend: ttl %d, expires %v", m.TTL, m.Expires)
	}
	// A longer-lived message is not shortened.
	extend(m, now, 10, 10)
	if m.TTL != 120 {
		t.Errorf("extend shortened the message: %d", m.TTL)
	}
	if id := newOID(now); !isOID(id) || id[:8] != fmt.Sprintf("%08x", now.Unix()) {
		t.Errorf("newOID: %s", id)
	}
}
