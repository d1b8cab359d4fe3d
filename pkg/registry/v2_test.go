package registry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/test/registry/regtest"
)

// testRegistry is go-containerregistry's in-process registry behind a
// handler that counts requests, injects failures and checks credentials.
type testRegistry struct {
	srv  *httptest.Server
	host string

	blobs, manifests, catalogs atomic.Int64
	pings, tokens, notModified atomic.Int64
	conns                      atomic.Int64 // connections accepted
	inflight, maxInflight      atomic.Int64 // registry requests being served
	mu                         sync.Mutex
	failOnce                   map[string]int // path -> status returned once
	user, pass                 string         // basic auth when set
	bearer                     bool           // Bearer token auth via /token
	token                      string
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	tr := &testRegistry{failOnce: map[string]int{}}
	b := make([]byte, 16)
	rand.Read(b)
	tr.token = hex.EncodeToString(b)
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(discard{}, "", 0)))
	tr.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			tr.tokens.Add(1)
			u, p, ok := r.BasicAuth()
			if !ok || u != tr.user || p != tr.pass {
				http.Error(w, "bad credentials", http.StatusUnauthorized)
				return
			}
			json.NewEncoder(w).Encode(map[string]string{"token": tr.currentToken()})
			return
		}
		n := tr.inflight.Add(1)
		defer tr.inflight.Add(-1)
		for m := tr.maxInflight.Load(); n > m && !tr.maxInflight.CompareAndSwap(m, n); m = tr.maxInflight.Load() {
		}
		if r.URL.Path == "/v2/" {
			tr.pings.Add(1)
		}
		if !tr.authorized(w, r) {
			return
		}
		tr.mu.Lock()
		code, fail := tr.failOnce[r.URL.Path]
		delete(tr.failOnce, r.URL.Path)
		tr.mu.Unlock()
		if fail {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "try again", code)
			return
		}
		switch {
		case strings.Contains(r.URL.Path, "/blobs/") && r.Method == http.MethodGet:
			tr.blobs.Add(1)
		case strings.Contains(r.URL.Path, "/manifests/") && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			tr.manifests.Add(1)
			// go-containerregistry's registry ignores If-None-Match;
			// docker-registry answers 304 when the tag still names it.
			if inm := r.Header.Get("If-None-Match"); inm != "" {
				head := httptest.NewRecorder()
				hr := r.Clone(r.Context())
				hr.Method = http.MethodHead
				inner.ServeHTTP(head, hr)
				if d := head.Header().Get("Docker-Content-Digest"); head.Code == http.StatusOK && inm == `"`+d+`"` {
					tr.notModified.Add(1)
					w.WriteHeader(http.StatusNotModified)
					return
				}
			}
		case r.URL.Path == "/v2/_catalog":
			tr.catalogs.Add(1)
		}
		inner.ServeHTTP(w, r)
	}))
	tr.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			tr.conns.Add(1)
		}
	}
	tr.srv.Start()
	t.Cleanup(tr.srv.Close)
	tr.host = strings.TrimPrefix(tr.srv.URL, "http://")
	return tr
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func (tr *testRegistry) authorized(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case tr.bearer:
		if r.Header.Get("Authorization") == "Bearer "+tr.currentToken() {
			return true
		}
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="test"`, tr.srv.URL))
	case tr.user != "":
		if u, p, ok := r.BasicAuth(); ok && u == tr.user && p == tr.pass {
			return true
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
	default:
		return true
	}
	http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
	return false
}

func (tr *testRegistry) currentToken() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.token
}

func (tr *testRegistry) failNext(path string, code int) {
	tr.mu.Lock()
	tr.failOnce[path] = code
	tr.mu.Unlock()
}

func (tr *testRegistry) resetCounts() {
	for _, c := range []*atomic.Int64{&tr.blobs, &tr.manifests, &tr.catalogs, &tr.pings, &tr.tokens, &tr.notModified, &tr.conns, &tr.maxInflight} {
		c.Store(0)
	}
}

func (tr *testRegistry) tag(t *testing.T, repo, tag string) name.Tag {
	t.Helper()
	ref, err := name.NewTag(tr.host+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func (tr *testRegistry) push(t *testing.T, repo, tag string, img v1.Image) v1.Hash {
	t.Helper()
	if err := remote.Write(tr.tag(t, repo, tag), img); err != nil {
		t.Fatalf("push %s: %v", repo, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (tr *testRegistry) pushIndex(t *testing.T, repo, tag string, idx v1.ImageIndex) v1.Hash {
	t.Helper()
	if err := remote.WriteIndex(tr.tag(t, repo, tag), idx); err != nil {
		t.Fatalf("push %s: %v", repo, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// rawManifest puts a manifest of any media type (schema 1).
type rawManifest struct {
	data []byte
	mt   types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.data, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

func mustImage(t *testing.T, yml []byte, extra map[string]string) v1.Image {
	t.Helper()
	img, err := regtest.BundleImage(yml, extra)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func bootstrap(t *testing.T, s *Set) *Result {
	t.Helper()
	res, err := s.Bootstrap(context.Background())
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	return res
}

func byName(specs []*apb.Spec) map[string]*apb.Spec {
	m := map[string]*apb.Spec{}
	for _, s := range specs {
		m[s.FQName] = s
	}
	return m
}

func skipReasons(sk []Skipped) map[string]string {
	m := map[string]string{}
	for _, s := range sk {
		m[s.Image] = s.Reason
	}
	return m
}

func TestAPIv2(t *testing.T) {
	tr := newTestRegistry(t)
	digests := map[string]v1.Hash{}
	digests["plain-apb"] = tr.push(t, "plain-apb", "latest", mustImage(t, regtest.BundleYML("plain-apb"), map[string]string{apb.LabelRuntime: "2"}))
	digests["oci-apb"] = tr.push(t, "oci-apb", "latest", regtest.OCI(mustImage(t, regtest.BundleYML("oci-apb"), nil)))
	digests["nested/deep-apb"] = tr.push(t, "nested/deep-apb", "latest", mustImage(t, regtest.BundleYML("deep-apb"), nil))

	// Manifest lists: the linux/amd64 entry is the one read, whatever its place.
	arm, err := regtest.Platform(mustImage(t, regtest.BundleYML("wrong-arch-apb"), nil), "linux", "arm64")
	if err != nil {
		t.Fatal(err)
	}
	for _, oci := range []bool{false, true} {
		repo := map[bool]string{false: "list-apb", true: "ociindex-apb"}[oci]
		idx, err := regtest.Index(oci, arm, mustImage(t, regtest.BundleYML(repo), nil))
		if err != nil {
			t.Fatal(err)
		}
		digests[repo] = tr.pushIndex(t, repo, "latest", idx)
	}

	// Schema 1: the label is in history[0].v1Compatibility.
	v1c, _ := json.Marshal(map[string]any{"config": map[string]any{"Labels": map[string]string{apb.LabelSpec: apb.EncodeLabel(regtest.BundleYML("schema1-apb"))}}})
	s1, _ := json.Marshal(map[string]any{"schemaVersion": 1, "name": "schema1-apb", "tag": "latest", "architecture": "amd64",
		"fsLayers": []any{}, "history": []any{map[string]string{"v1Compatibility": string(v1c)}}})
	if err := remote.Put(tr.tag(t, "schema1-apb", "latest"), rawManifest{s1, types.DockerManifestSchema1}); err != nil {
		t.Fatal(err)
	}

	tr.push(t, "nolabel-apb", "latest", mustImage(t, nil, map[string]string{"maintainer": "x"}))
	tr.push(t, "badyaml-apb", "latest", mustImage(t, []byte("name: [unclosed\n"), nil))
	tr.push(t, "badversion-apb", "latest", mustImage(t, []byte(strings.Replace(string(regtest.BundleYML("badversion-apb")), "'1.0'", "'3.1'", 1)), nil))
	tr.push(t, "badruntime-apb", "latest", mustImage(t, regtest.BundleYML("badruntime-apb"), map[string]string{apb.LabelRuntime: "7"}))
	tr.push(t, "notag-apb", "other", mustImage(t, regtest.BundleYML("notag-apb"), nil))
	tr.push(t, "blocked-apb", "latest", mustImage(t, regtest.BundleYML("blocked-apb"), nil))
	tr.push(t, "unrelated", "latest", mustImage(t, regtest.BundleYML("unrelated"), nil))

	s, err := New([]Config{{
		Type: "apiv2", Name: "v2", URL: "http://" + tr.host, Tag: "latest",
		WhiteList: []string{"-apb$"}, BlackList: []string{"^blocked"},
	}}, Options{Logger: slog.New(slog.DiscardHandler), Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	res := bootstrap(t, s)
	if res.Images != 13 {
		t.Errorf("Images = %d, want 13 (every repository in _catalog)", res.Images)
	}
	got := byName(res.Specs)
	want := map[string]string{ // FQName -> repository
		"v2-plain-apb": "plain-apb", "v2-oci-apb": "oci-apb", "v2-deep-apb": "nested/deep-apb",
		"v2-list-apb": "list-apb", "v2-ociindex-apb": "ociindex-apb", "v2-schema1-apb": "schema1-apb",
	}
	if len(got) != len(want) {
		t.Errorf("specs %v, want %v; skipped %+v", keys(got), want, res.Skipped)
	}
	for fq, repo := range want {
		sp := got[fq]
		if sp == nil {
			t.Errorf("missing %s", fq)
			continue
		}
		if sp.Image != tr.host+"/"+repo+":latest" {
			t.Errorf("%s image = %q", fq, sp.Image)
		}
		if d, ok := digests[repo]; ok && sp.Digest != d.String() {
			t.Errorf("%s digest = %s, want %s", fq, sp.Digest, d)
		}
		if sp.ID != apb.ServiceID(fq) || sp.Registry != "v2" {
			t.Errorf("%s not finished: %+v", fq, sp)
		}
	}
	if got["v2-plain-apb"] != nil && got["v2-plain-apb"].Runtime != 2 {
		t.Errorf("runtime label ignored: %d", got["v2-plain-apb"].Runtime)
	}
	reasons := skipReasons(res.Skipped)
	for img, want := range map[string]string{
		"nolabel-apb":    "no com.redhat.apb.spec label",
		"badyaml-apb":    "badyaml-apb",
		"badversion-apb": "unsupported version",
		"badruntime-apb": "runtime 7",
		"notag-apb":      "manifest",
	} {
		if !strings.Contains(reasons[img], want) {
			t.Errorf("skip reason of %s = %q, want it to mention %q", img, reasons[img], want)
		}
	}
	if len(reasons) != 5 {
		t.Errorf("skipped = %+v, want 5", res.Skipped)
	}
	if tr.blobs.Load() == 0 {
		t.Error("cold bootstrap read no blobs")
	}

	// Warm: nothing changed, so manifests only and the same specs.
	tr.resetCounts()
	res2 := bootstrap(t, s)
	if n := tr.blobs.Load(); n != 0 {
		t.Errorf("warm bootstrap read %d blobs, want 0", n)
	}
	if n := tr.manifests.Load(); n != 11 {
		t.Errorf("warm bootstrap read %d manifests, want one per image passing the filter (11)", n)
	}
	if n := tr.notModified.Load(); n != 10 {
		t.Errorf("warm bootstrap got %d 304s, want one per image read before (10: all but notag-apb)", n)
	}
	if len(res2.Specs) != len(res.Specs) || len(res2.Skipped) != len(res.Skipped) {
		t.Errorf("warm result differs: %d specs %d skipped", len(res2.Specs), len(res2.Skipped))
	}

	// One image changes: exactly its config blob is read.
	changed := strings.Replace(string(regtest.BundleYML("plain-apb")), "plain-apb test bundle", "new text", 1)
	tr.push(t, "plain-apb", "latest", mustImage(t, []byte(changed), nil))
	tr.resetCounts()
	res3 := bootstrap(t, s)
	if n := tr.blobs.Load(); n != 1 {
		t.Errorf("after one change %d blobs read, want 1", n)
	}
	if p := byName(res3.Specs)["v2-plain-apb"]; p == nil || p.Description != "new text" || p.Runtime != 1 {
		t.Errorf("changed spec = %+v", p)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestAPIv2Auth(t *testing.T) {
	const secret = "s3cret-pass"
	tests := []struct {
		name       string
		bearer     bool
		user, pass string
		failOn     bool
		wantSpecs  int
		wantErr    bool // registry error in Result.Errors
		wantFatal  bool // Bootstrap error
	}{
		{name: "basic", user: "alice", pass: secret, wantSpecs: 1},
		{name: "bearer token", bearer: true, user: "alice", pass: secret, wantSpecs: 1},
		{name: "basic, wrong password", user: "alice", pass: "wrong", wantErr: true},
		{name: "bearer, anonymous", bearer: true, wantErr: true},
		{name: "wrong password, fail_on_error", user: "alice", pass: "wrong", failOn: true, wantFatal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestRegistry(t)
			tr.push(t, "a-apb", "latest", mustImage(t, regtest.BundleYML("a-apb"), nil))
			tr.user, tr.pass, tr.bearer = "alice", secret, tt.bearer
			// A second, healthy registry keeps "all registries failed" away.
			root := t.TempDir()
			writeBundle(t, root, "l-apb", good("l-apb"))
			s, err := New([]Config{
				{Type: "apiv2", Name: "auth", URL: "http://" + tr.host, Tag: "latest", User: tt.user, Pass: tt.pass, WhiteList: []string{".*"}, FailOnError: tt.failOn},
				{Type: "local", Name: "lo", Path: root, Tag: "latest", WhiteList: []string{".*"}},
			}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.Bootstrap(context.Background())
			if tt.wantFatal {
				if err == nil || !strings.Contains(err.Error(), `registry "auth"`) {
					t.Fatalf("err = %v, want a failure naming the registry", err)
				}
				if strings.Contains(err.Error(), tt.pass) {
					t.Errorf("error text holds the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := len(res.Specs) - 1; n != tt.wantSpecs {
				t.Errorf("specs from the registry = %d, want %d (errors %v)", n, tt.wantSpecs, res.Errors)
			}
			if (len(res.Errors) > 0) != tt.wantErr {
				t.Errorf("errors = %v, want some: %v", res.Errors, tt.wantErr)
			}
			for _, e := range res.Errors {
				if !strings.Contains(e.Error(), `registry "auth"`) || (tt.pass != "" && strings.Contains(e.Error(), tt.pass)) {
					t.Errorf("error %q: must name the registry and never the password", e)
				}
			}
		})
	}
}

// TestAPIv2RoundTrips pins what a bootstrap costs the registry: one ping
// and one token per scope for the registry's life, connections kept and
// bounded by Concurrency, and a warm bootstrap that asks only whether each
// tag changed.
func TestAPIv2RoundTrips(t *testing.T) {
	const images, concurrency = 12, 3
	for _, mode := range []string{"anonymous", "basic", "bearer"} {
		t.Run(mode, func(t *testing.T) {
			tr := newTestRegistry(t)
			for i := range images {
				n := fmt.Sprintf("b%02d-apb", i)
				tr.push(t, "ns/"+n, "latest", mustImage(t, regtest.BundleYML(n), nil))
			}
			c := Config{Type: "apiv2", Name: "rt", URL: "http://" + tr.host, Tag: "latest", WhiteList: []string{".*"}}
			if mode != "anonymous" {
				tr.user, tr.pass, tr.bearer = "alice", "pw", mode == "bearer"
				c.User, c.Pass = "alice", "pw"
			}
			s, err := New([]Config{c}, Options{Concurrency: concurrency})
			if err != nil {
				t.Fatal(err)
			}
			// A Secret or a file is read once per bootstrap, not per image.
			var credReads atomic.Int64
			v := s.regs[0].a.(*v2)
			read := v.creds
			v.creds = func(ctx context.Context) (creds, error) { credReads.Add(1); return read(ctx) }
			tr.resetCounts()
			if res := bootstrap(t, s); len(res.Specs) != images {
				t.Fatalf("cold: %d specs, skipped %+v", len(res.Specs), res.Skipped)
			}
			if n := credReads.Swap(0); n != 1 {
				t.Errorf("cold bootstrap read the credentials %d times, want 1", n)
			}
			wantTokens := int64(0)
			if mode == "bearer" {
				wantTokens = 1 + images // the catalog's scope and each repository's
			}
			for what, got := range map[string][2]int64{
				"pings":     {tr.pings.Load(), 1},
				"tokens":    {tr.tokens.Load(), wantTokens},
				"catalogs":  {tr.catalogs.Load(), 1},
				"manifests": {tr.manifests.Load(), images},
				"blobs":     {tr.blobs.Load(), images},
			} {
				if got[0] != got[1] {
					t.Errorf("cold bootstrap: %d %s, want %d", got[0], what, got[1])
				}
			}
			if n := tr.conns.Load(); n < 1 || n > concurrency {
				t.Errorf("cold bootstrap opened %d connections, want 1 to %d", n, concurrency)
			}
			if n := tr.maxInflight.Load(); n > concurrency {
				t.Errorf("%d requests in flight at once, want at most %d", n, concurrency)
			}

			conns := tr.conns.Load()
			tr.resetCounts()
			if res := bootstrap(t, s); len(res.Specs) != images {
				t.Fatalf("warm: %d specs, skipped %+v", len(res.Specs), res.Skipped)
			}
			// The cold bootstrap may not have needed them all at once.
			if n := conns + tr.conns.Load(); n > concurrency {
				t.Errorf("both bootstraps opened %d connections, want at most %d", n, concurrency)
			}
			if n := tr.maxInflight.Load(); n > concurrency {
				t.Errorf("warm: %d requests in flight at once, want at most %d", n, concurrency)
			}
			if n := credReads.Load(); n != 1 {
				t.Errorf("warm bootstrap read the credentials %d times, want 1", n)
			}
			for what, got := range map[string][2]int64{
				"pings":            {tr.pings.Load(), 0},
				"tokens":           {tr.tokens.Load(), 0},
				"blobs":            {tr.blobs.Load(), 0},
				"manifests":        {tr.manifests.Load(), images},
				"304 Not Modified": {tr.notModified.Load(), images},
			} {
				if got[0] != got[1] {
					t.Errorf("warm bootstrap: %d %s, want %d", got[0], what, got[1])
				}
			}
		})
	}
}

// TestAPIv2TokenRefused: a registry that stops accepting its tokens (a
// restarted token service, a revoked session) costs one 401 and one new
// token per scope, not a failed bootstrap.
func TestAPIv2TokenRefused(t *testing.T) {
	tr := newTestRegistry(t)
	for _, n := range []string{"a-apb", "b-apb"} {
		tr.push(t, n, "latest", mustImage(t, regtest.BundleYML(n), nil))
	}
	tr.user, tr.pass, tr.bearer = "alice", "pw", true
	s, err := New([]Config{{Type: "apiv2", Name: "tk", URL: "http://" + tr.host, Tag: "latest",
		User: "alice", Pass: "pw", WhiteList: []string{".*"}, FailOnError: true}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	bootstrap(t, s)
	tr.mu.Lock()
	tr.token = "rotated-" + tr.token
	tr.mu.Unlock()
	tr.resetCounts()
	if res := bootstrap(t, s); len(res.Specs) != 2 || len(res.Skipped) != 0 {
		t.Fatalf("after the rotation: specs %d, skipped %+v", len(res.Specs), res.Skipped)
	}
	if n := tr.tokens.Load(); n != 3 {
		t.Errorf("%d tokens fetched after the rotation, want 3 (the catalog's and two repositories')", n)
	}
	if n := tr.pings.Load(); n != 0 {
		t.Errorf("%d pings after the rotation, want 0", n)
	}
}

// TestAPIv2Unreachable: a registry whose /v2/ fails costs one ping (with
// its retries) per bootstrap, not one per image, and the next bootstrap
// tries again.
func TestAPIv2Unreachable(t *testing.T) {
	var pings atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			pings.Add(1)
		}
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	var images []string
	for i := range 20 {
		images = append(images, fmt.Sprintf("ns/i%02d-apb", i))
	}
	root := t.TempDir()
	writeBundle(t, root, "l-apb", good("l-apb"))
	s, err := New([]Config{
		{Type: "openshift", Name: "down", URL: srv.URL, Tag: "latest", Images: images, WhiteList: []string{".*"}},
		{Type: "local", Name: "lo", Path: root, Tag: "latest", WhiteList: []string{".*"}},
	}, Options{Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		res := bootstrap(t, s)
		if len(res.Skipped) != len(images) || !strings.Contains(res.Skipped[0].Reason, "503") {
			t.Fatalf("skipped %+v, want every image with the 503", res.Skipped)
		}
		if n := pings.Swap(0); n != int64(retryBackoff.Steps) {
			t.Errorf("bootstrap %d: %d pings, want one ping's %d tries", round, n, retryBackoff.Steps)
		}
	}
}

// TestAPIv2NoScheme: a url without a scheme is tried on https, once, then
// on http, as go-containerregistry did.
func TestAPIv2NoScheme(t *testing.T) {
	tr := newTestRegistry(t)
	tr.push(t, "a-apb", "latest", mustImage(t, regtest.BundleYML("a-apb"), nil))
	s, err := New([]Config{{Type: "apiv2", Name: "ns", URL: tr.host, Tag: "latest", WhiteList: []string{".*"}}}, Options{Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	tr.resetCounts()
	res := bootstrap(t, s)
	if len(res.Specs) != 1 || res.Specs[0].Image != tr.host+"/a-apb:latest" {
		t.Fatalf("specs %+v, errors %v", res.Specs, res.Errors)
	}
	// One for the TLS hello the plain HTTP port refuses, one for http.
	if n := tr.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (https retried?)", n)
	}
}

func TestAuthParams(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
	}{
		{`realm="https://auth.example/token",service="registry.example"`, map[string]string{"realm": "https://auth.example/token", "service": "registry.example"}},
		{`realm="r", scope="repository:a/b:pull,push", error="insufficient_scope"`, map[string]string{"realm": "r", "scope": "repository:a/b:pull,push", "error": "insufficient_scope"}},
		{`Realm=plain,service="s\"q"`, map[string]string{"realm": "plain", "service": `s"q`}},
		{``, map[string]string{}},
	}
	for _, tt := range tests {
		if got := authParams(tt.in); !maps.Equal(got, tt.want) {
			t.Errorf("authParams(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestNextLink(t *testing.T) {
	const base = "https://reg.example:5000"
	tests := []struct {
		link, want string
		wantErr    bool
	}{
		{"", "", false},
		{`</v2/_catalog?last=b&n=1000>; rel="next"`, "/v2/_catalog?last=b&n=1000", false},
		{`<https://reg.example:5000/v2/_catalog?last=b>; rel="next"`, "/v2/_catalog?last=b", false},
		{`<https://elsewhere.example/v2/_catalog?last=b>; rel="next"`, "", true},
		{`</token?steal=1>; rel="next"`, "", true},
	}
	for _, tt := range tests {
		got, err := nextLink(tt.link, base)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("nextLink(%q) = %q, %v; want %q, error %v", tt.link, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestAPIv2Retries(t *testing.T) {
	tr := newTestRegistry(t)
	tr.push(t, "a-apb", "latest", mustImage(t, regtest.BundleYML("a-apb"), nil))
	tr.push(t, "b-apb", "latest", mustImage(t, regtest.BundleYML("b-apb"), nil))
	tr.failNext("/v2/_catalog", http.StatusTooManyRequests)
	tr.failNext("/v2/a-apb/manifests/latest", http.StatusServiceUnavailable)
	tr.failNext("/v2/b-apb/manifests/latest", http.StatusBadGateway)
	s, err := New([]Config{{Type: "apiv2", Name: "r", URL: "http://" + tr.host, Tag: "latest", WhiteList: []string{".*"}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res := bootstrap(t, s)
	if len(res.Specs) != 2 || len(res.Skipped) != 0 {
		t.Fatalf("specs %d skipped %+v, want both bundles after retries", len(res.Specs), res.Skipped)
	}
	if n := tr.catalogs.Load(); n != 1 {
		t.Errorf("catalog served %d times after the 429, want 1", n)
	}
	tr.mu.Lock()
	left := len(tr.failOnce)
	tr.mu.Unlock()
	if left != 0 {
		t.Errorf("%d injected failures never hit", left)
	}
}

func TestOpenShiftImages(t *testing.T) {
	tr := newTestRegistry(t)
	tr.push(t, "ns/listed-apb", "v1", mustImage(t, regtest.BundleYML("listed-apb"), nil))
	tr.push(t, "ns/unlisted-apb", "v1", mustImage(t, regtest.BundleYML("unlisted-apb"), nil))
	tr.user, tr.pass = "bob", "pw-not-logged"
	s, err := New([]Config{{Type: "openshift", Name: "os", URL: "http://" + tr.host, Tag: "v1", User: "bob", Pass: "pw-not-logged",
		Images: []string{"ns/listed-apb"}, WhiteList: []string{".*"}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res := bootstrap(t, s)
	if len(res.Specs) != 1 || res.Specs[0].FQName != "os-listed-apb" || res.Specs[0].Image != tr.host+"/ns/listed-apb:v1" {
		t.Fatalf("specs = %+v", res.Specs)
	}
	if tr.catalogs.Load() != 0 {
		t.Error("openshift type listed _catalog")
	}
}
