// Package catalog benchmarks GET /v2/catalog with 1,000 bundles against a
// baseline measured in the same run: net/http serving the identical bytes
// from memory with no broker in front. Run: go test -bench . ./bench/catalog
package catalog

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/daemon"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/none"
	"github.com/openstack-service-broker/openstack-service-broker/test/bundlegen"
)

// startBroker runs a broker with n generated bundles and returns its URL.
func startBroker(b *testing.B, n int) (string, func()) {
	b.Helper()
	dir := b.TempDir()
	reg := filepath.Join(dir, "registry")
	if err := bundlegen.WriteDir(reg, bundlegen.Generate(n, 1)); err != nil {
		b.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "auth"), 0o700)
	os.WriteFile(filepath.Join(dir, "auth", "username"), []byte("admin"), 0o600)
	os.WriteFile(filepath.Join(dir, "auth", "password"), []byte("admin"), 0o600)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf(`registry:
  - {type: local, name: gen, path: %s, white_list: [".*"]}
dao: {etcd_data_dir: %s}
log: {stdout: true, level: error}
broker:
  listen_address: %s
  plain_http: true
  basic_auth_dir: %s
  auto_escalate: true
  bootstrap_on_startup: true
  auth: [{type: basic, enabled: true}]
`, reg, filepath.Join(dir, "etcd"), addr, filepath.Join(dir, "auth"))
	cfgPath := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, cfgPath, io.Discard, daemon.Options{
			Runtime: none.Runtime{Reason: "benchmark"}, Ready: func(u string) { ready <- u }})
	}()
	select {
	case u := <-ready:
		return u, func() { cancel(); <-done }
	case err := <-done:
		b.Fatalf("broker: %v", err)
	case <-time.After(2 * time.Minute):
		b.Fatal("broker did not start")
	}
	return "", nil
}

// get fetches url; with gzip set it asks for the compressed body and keeps
// it compressed (the client's decompression is not the server's cost).
func get(b *testing.B, c *http.Client, url string, gz bool) []byte {
	req, _ := http.NewRequest("GET", url, nil)
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	req.SetBasicAuth("admin", "admin")
	req.Header.Set("X-Broker-API-Version", "2.17")
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return body
}

func run(b *testing.B, url string) {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	n := len(get(b, c, url, true))
	b.SetBytes(int64(n))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			get(b, c, url, true)
		}
	})
}

// BenchmarkCatalog1000 is the broker's GET /v2/catalog (auth, version
// check, logging, metrics included).
func BenchmarkCatalog1000(b *testing.B) {
	url, stop := startBroker(b, 1000)
	defer stop()
	run(b, url+"/v2/catalog")
}

// BenchmarkBaseline1000 serves the same catalog bytes with bare net/http.
func BenchmarkBaseline1000(b *testing.B) {
	url, stop := startBroker(b, 1000)
	c := &http.Client{}
	body := get(b, c, url+"/v2/catalog", false)
	gz := gzipped(body)
	stop()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Vary", "Accept-Encoding")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz)
			return
		}
		w.Write(body)
	})}
	go srv.Serve(l)
	defer srv.Close()
	run(b, "http://"+l.Addr().String()+"/v2/catalog")
}

// gzipped compresses like the broker does, so the baseline answers with
// the very same bytes.
func gzipped(body []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	return buf.Bytes()
}
