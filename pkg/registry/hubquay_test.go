package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/test/registry/regtest"
)

// fakeHub speaks Docker Hub's documented JSON (login, paginated org
// repositories) and passes registry v2 calls to a real registry.
func fakeHub(t *testing.T, tr *testRegistry, org string, repos []string, user, pass string) *httptest.Server {
	t.Helper()
	const jwt = "hub-jwt-token"
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: tr.host})
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/users/login/" && r.Method == http.MethodPost:
			var body struct{ Username, Password string }
			if json.NewDecoder(r.Body).Decode(&body) != nil || body.Username != user || body.Password != pass {
				http.Error(w, `{"detail":"Incorrect authentication credentials."}`, http.StatusUnauthorized)
				return
			}
			json.NewEncoder(w).Encode(map[string]string{"token": jwt})
		case r.URL.Path == "/v2/repositories/"+org+"/":
			if user != "" && r.Header.Get("Authorization") != "JWT "+jwt {
				http.Error(w, `{"detail":"not logged in"}`, http.StatusUnauthorized)
				return
			}
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			if page == 0 {
				page = 1
			}
			const size = 2 // small pages so next is followed
			var results []map[string]string
			for i := (page - 1) * size; i < len(repos) && i < page*size; i++ {
				results = append(results, map[string]string{"name": repos[i], "namespace": org})
			}
			next := ""
			if page*size < len(repos) {
				next = fmt.Sprintf("%s/v2/repositories/%s/?page=%d&page_size=100", srv.URL, org, page+1)
			}
			json.NewEncoder(w).Encode(map[string]any{"count": len(repos), "next": next, "results": results})
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDockerHub(t *testing.T) {
	tests := []struct {
		name, user, pass string
		loginUser        string // what the fake expects
		wantSpecs        int
		wantErr          bool
	}{
		{name: "anonymous", wantSpecs: 4},
		{name: "logged in", user: "hubuser", pass: "hubpass", loginUser: "hubuser", wantSpecs: 4},
		{name: "wrong password", user: "hubuser", pass: "nope", loginUser: "hubuser", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestRegistry(t)
			repos := []string{"a-apb", "b-apb", "c-apb", "d-apb", "e-apb", "not-a-bundle"}
			for _, r := range repos[:4] {
				tr.push(t, "myorg/"+r, "latest", mustImage(t, regtest.BundleYML(r), nil))
			}
			tr.push(t, "myorg/e-apb", "latest", mustImage(t, nil, nil)) // no label
			hub := fakeHub(t, tr, "myorg", repos, tt.loginUser, "hubpass")
			s, err := New([]Config{{Type: "dockerhub", Name: "dh", URL: hub.URL, Org: "myorg", Tag: "latest",
				User: tt.user, Pass: tt.pass, WhiteList: []string{"-apb$"}}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.Bootstrap(context.Background())
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "docker hub login") || strings.Contains(err.Error(), tt.pass) {
					t.Fatalf("err = %v, want a login failure without the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Images != 6 || len(res.Specs) != tt.wantSpecs || len(res.Skipped) != 1 {
				t.Fatalf("images %d specs %d skipped %+v", res.Images, len(res.Specs), res.Skipped)
			}
			host := strings.TrimPrefix(hub.URL, "http://")
			if sp := byName(res.Specs)["dh-a-apb"]; sp == nil || sp.Image != host+"/myorg/a-apb:latest" {
				t.Errorf("dh-a-apb = %+v", sp)
			}
		})
	}
}

// fakeQuay speaks the Quay API's documented JSON: repository listing with
// next_page, repository with tags, manifest labels.
type fakeQuay struct {
	org    string
	token  string
	repos  map[string]map[string]string // repo -> labels of its latest manifest
	labels atomic.Int64                 // labels calls
}

func (q *fakeQuay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if q.token != "" && r.Header.Get("Authorization") != "Bearer "+q.token {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	names := make([]string, 0, len(q.repos))
	for n := range q.repos {
		names = append(names, n)
	}
	slices.Sort(names)
	p := strings.TrimPrefix(r.URL.Path, "/api/v1/repository")
	switch {
	case p == "":
		if r.URL.Query().Get("namespace") != q.org {
			json.NewEncoder(w).Encode(map[string]any{"repositories": []any{}})
			return
		}
		start := 0
		if np := r.URL.Query().Get("next_page"); np != "" {
			start, _ = strconv.Atoi(np)
		}
		end := min(start+2, len(names))
		var repos []map[string]any
		for _, n := range names[start:end] {
			repos = append(repos, map[string]any{"namespace": q.org, "name": n, "is_public": true})
		}
		out := map[string]any{"repositories": repos}
		if end < len(names) {
			out["next_page"] = strconv.Itoa(end)
		}
		json.NewEncoder(w).Encode(out)
	case strings.HasSuffix(p, "/labels"):
		q.labels.Add(1)
		parts := strings.Split(strings.TrimPrefix(p, "/"), "/") // org, repo, manifest, digest, labels
		if len(parts) != 5 || "sha256:"+parts[1] != parts[3] {
			http.NotFound(w, r)
			return
		}
		var ls []map[string]string
		for k, v := range q.repos[parts[1]] {
			ls = append(ls, map[string]string{"key": k, "value": v, "source_type": "manifest"})
		}
		json.NewEncoder(w).Encode(map[string]any{"labels": ls})
	default:
		parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
		if len(parts) != 2 || parts[0] != q.org || q.repos[parts[1]] == nil {
			http.NotFound(w, r)
			return
		}
		// The digest stands for the manifest; derived from the repo name.
		json.NewEncoder(w).Encode(map[string]any{"namespace": q.org, "name": parts[1],
			"tags": map[string]any{"latest": map[string]string{"name": "latest", "manifest_digest": "sha256:" + parts[1]}}})
	}
}

func TestQuay(t *testing.T) {
	q := &fakeQuay{org: "qorg", token: "quay-token", repos: map[string]map[string]string{
		"a-apb":      {apb.LabelSpec: apb.EncodeLabel(regtest.BundleYML("a-apb")), apb.LabelRuntime: "2"},
		"b-apb":      {apb.LabelSpec: apb.EncodeLabel(regtest.BundleYML("b-apb"))},
		"c-apb":      {apb.LabelSpec: apb.EncodeLabel(regtest.BundleYML("c-apb"))},
		"nolabel":    {"maintainer": "x"},
		"filtered-x": {apb.LabelSpec: apb.EncodeLabel(regtest.BundleYML("filtered-x"))},
	}}
	srv := httptest.NewServer(q)
	t.Cleanup(srv.Close)
	s, err := New([]Config{{Type: "quay", Name: "q", URL: srv.URL, Org: "qorg", Token: "quay-token", AuthType: "config", Tag: "latest",
		WhiteList: []string{"apb$", "nolabel"}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A Secret or a file is read once per bootstrap, not per API call.
	var credReads atomic.Int64
	qa := s.regs[0].a.(*quay)
	read := qa.creds
	qa.creds = func(ctx context.Context) (creds, error) { credReads.Add(1); return read(ctx) }
	res := bootstrap(t, s)
	if n := credReads.Load(); n != 1 {
		t.Errorf("cold: credentials read %d times, want 1", n)
	}
	if res.Images != 5 || len(res.Specs) != 3 || len(res.Skipped) != 1 || res.Skipped[0].Image != "nolabel" {
		t.Fatalf("images %d specs %d skipped %+v", res.Images, len(res.Specs), res.Skipped)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	a := byName(res.Specs)["q-a-apb"]
	if a == nil || a.Image != host+"/qorg/a-apb:latest" || a.Runtime != 2 || a.Digest != "sha256:a-apb" {
		t.Errorf("q-a-apb = %+v", a)
	}
	if n := q.labels.Load(); n != 4 {
		t.Errorf("cold: %d labels calls, want 4", n)
	}
	q.labels.Store(0)
	bootstrap(t, s)
	if n := q.labels.Load(); n != 0 {
		t.Errorf("warm: %d labels calls, want 0", n)
	}
}

// fakeImageAPI serves OpenShift's image.openshift.io/v1 image streams and
// image stream tags, the JSON local_openshift reads.
func fakeImageAPI(t *testing.T, streams map[string]map[string]map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/apis/image.openshift.io/v1" {
			// Discovery: OpenShift's image API serves image stream tags.
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "image.openshift.io/v1",
				"resources": []any{
					map[string]any{"name": "imagestreams", "namespaced": true, "kind": "ImageStream", "verbs": []string{"get", "list"}},
					map[string]any{"name": "imagestreamtags", "namespaced": true, "kind": "ImageStreamTag", "verbs": []string{"get", "list"}},
				}})
			return
		}
		rest, ok := strings.CutPrefix(r.URL.Path, "/apis/image.openshift.io/v1/namespaces/")
		parts := strings.Split(rest, "/")
		if !ok || len(parts) < 2 || streams[parts[0]] == nil {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404})
			return
		}
		ns := parts[0]
		w.Header().Set("Content-Type", "application/json")
		switch {
		case len(parts) == 2 && parts[1] == "imagestreams":
			var items []any
			for n := range streams[ns] {
				items = append(items, map[string]any{"metadata": map[string]string{"name": n, "namespace": ns}})
			}
			json.NewEncoder(w).Encode(map[string]any{"kind": "ImageStreamList", "apiVersion": "image.openshift.io/v1", "items": items})
		case len(parts) == 3 && parts[1] == "imagestreamtags":
			is, tag, _ := strings.Cut(parts[2], ":")
			labels, ok := streams[ns][is]
			if !ok || tag != "latest" {
				w.WriteHeader(http.StatusNotFound)
				json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404})
				return
			}
			digest := "sha256:" + ns + is
			json.NewEncoder(w).Encode(map[string]any{"kind": "ImageStreamTag", "apiVersion": "image.openshift.io/v1",
				"metadata": map[string]string{"name": parts[2], "namespace": ns},
				"image": map[string]any{
					"metadata":             map[string]string{"name": digest},
					"dockerImageReference": "172.30.1.1:5000/" + ns + "/" + is + "@" + digest,
					"dockerImageMetadata":  map[string]any{"kind": "DockerImage", "ContainerConfig": map[string]any{"Labels": labels}},
				}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestLocalOpenShift(t *testing.T) {
	srv := fakeImageAPI(t, map[string]map[string]map[string]string{
		"openshift": {"a-apb": {apb.LabelSpec: apb.EncodeLabel(regtest.BundleYML("a-apb"))}, "ruby": {"x": "y"}},
		"mine":      {"b-apb": {apb.LabelSpec: apb.EncodeLabel(regtest.BundleYML("b-apb"))}},
	})
	kube, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New([]Config{{Type: "local_openshift", Name: "localregistry", Namespaces: []string{"openshift", "mine", "absent"}, Tag: "latest",
		WhiteList: []string{".*"}}}, Options{Kube: kube})
	if err != nil {
		t.Fatal(err)
	}
	res := bootstrap(t, s)
	if res.Images != 3 || len(res.Specs) != 2 || len(res.Skipped) != 1 || res.Skipped[0].Image != "openshift/ruby" {
		t.Fatalf("images %d specs %d skipped %+v", res.Images, len(res.Specs), res.Skipped)
	}
	a := byName(res.Specs)["localregistry-a-apb"]
	if a == nil || a.Image != "172.30.1.1:5000/openshift/a-apb:latest" || a.Digest != "sha256:openshifta-apb" {
		t.Errorf("a = %+v", a)
	}
	if _, err := New([]Config{{Type: "local_openshift", Name: "x"}}, Options{}); err == nil || !strings.Contains(err.Error(), `registry "x"`) {
		t.Errorf("without a Kubernetes client: err = %v", err)
	}
}
