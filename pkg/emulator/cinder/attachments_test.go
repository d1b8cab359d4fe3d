package cinder

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

type tokens map[string]*core.Identity

func (t tokens) ValidateToken(_ context.Context, tok string) (*core.Identity, error) {
	if id := t[tok]; id != nil {
		return id, nil
	}
	return nil, errors.New("unknown token")
}

// novaStub answers Nova's os-volume_attachments show with the attachment
// id it holds (empty: 404, as for a server Nova does not know).
type novaStub struct{ attachmentID string }

func (n *novaStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if n.attachmentID == "" || r.Header.Get("OpenStack-API-Version") != "compute 2.89" {
		http.NotFound(w, r)
		return
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"volumeAttachment": map[string]any{"attachment_id": n.attachmentID}})
}

// TestAttachmentDeleteAsksNova: a user deleting an attachment Nova still
// reports gets 409 (Cinder's bug #2004555 check); Nova's own call through
// env.Do (a service call) deletes it, and so does a user once Nova no
// longer knows it.
func TestAttachmentDeleteAsksNova(t *testing.T) {
	env := core.NewEnv(core.EnvConfig{})
	c := New(env)
	rt := core.NewRouter(env, c.Spec())
	c.Routes(rt)
	nova := &novaStub{}
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/compute/") {
			nova.ServeHTTP(w, r)
			return
		}
		r2 := r.WithContext(core.WithPaths(r.Context(), r.URL.Path, "/volume"))
		u := *r.URL
		u.Path = strings.TrimPrefix(r.URL.Path, "/volume")
		r2.URL = &u
		rt.ServeHTTP(w, r2)
	})
	demo := &core.Identity{Token: "t", UserID: "u", ProjectID: "p1", Roles: []string{"member", "reader"}}
	env.Bind(root, "127.0.0.1", []core.Spec{c.Spec(), {Name: "nova", Type: "compute", Prefix: "/compute"}}, tokens{"t": demo})

	send := func(method, path string, body any) (int, map[string]any) {
		b, _ := json.Marshal(body)
		req := httptest.NewRequest(method, "/volume/v3/p1"+path, strings.NewReader(string(b)))
		req.Header.Set("X-Auth-Token", "t")
		req.Header.Set("OpenStack-API-Version", "volume 3.54")
		rec := httptest.NewRecorder()
		root.ServeHTTP(rec, req)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}
	code, out := send("POST", "/volumes", map[string]any{"volume": map[string]any{"size": 1}})
	if code != http.StatusAccepted {
		t.Fatalf("volume create: %d %v", code, out)
	}
	volID := out["volume"].(map[string]any)["id"].(string)
	attach := func() string {
		code, out := send("POST", "/attachments", map[string]any{"attachment": map[string]any{"volume_uuid": volID,
			"instance_uuid": "6f1c5f4e-2a8a-4c47-9a3e-0d5f0b1e8a11", "connector": map[string]any{"host": "h"}, "mode": "rw"}})
		if code != http.StatusOK {
			t.Fatalf("attachment create: %d %v", code, out)
		}
		return out["attachment"].(map[string]any)["id"].(string)
	}

	id := attach()
	nova.attachmentID = id
	if code, out := send("DELETE", "/attachments/"+id, nil); code != http.StatusConflict ||
		!strings.Contains(out["conflictingRequest"].(map[string]any)["message"].(string), "using the Compute API") {
		t.Errorf("a user's delete of Nova's attachment: %d %v", code, out)
	}
	// Nova's own call is a service call.
	hdr := http.Header{}
	hdr.Set("OpenStack-API-Version", "volume 3.44")
	err := env.Do(context.Background(), core.Call{Identity: demo, Service: "block-storage", Method: "DELETE",
		Path: "/v3/p1/attachments/" + id, Header: hdr}, nil)
	if err != nil {
		t.Errorf("Nova's delete: %v", err)
	}
	if code, out := send("GET", "/volumes/"+volID, nil); code != 200 || out["volume"].(map[string]any)["status"] != "available" {
		t.Errorf("volume after detach: %d %v", code, out)
	}

	id = attach()
	nova.attachmentID = ""
	if code, out := send("DELETE", "/attachments/"+id, nil); code != http.StatusOK {
		t.Errorf("a user's delete of an attachment Nova does not know: %d %v", code, out)
	}
}
