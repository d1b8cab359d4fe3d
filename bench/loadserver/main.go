package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/daemon"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/none"
	"github.com/openstack-service-broker/openstack-service-broker/test/bundlegen"
)

func main() {
	n := flag.Int("bundles", 1000, "generated bundles in the catalog")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "loadserver:", err)
		os.Exit(1)
	}
}

func run(n int) error {
	dir, err := os.MkdirTemp("", "osb-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	reg := filepath.Join(dir, "registry")
	if err := bundlegen.WriteDir(reg, bundlegen.Generate(n, 1)); err != nil {
		return err
	}
	auth := filepath.Join(dir, "auth")
	os.MkdirAll(auth, 0o700)
	os.WriteFile(filepath.Join(auth, "username"), []byte("admin"), 0o600)
	os.WriteFile(filepath.Join(auth, "password"), []byte("admin"), 0o600)
	cfg := fmt.Sprintf(`registry:
  - {type: local, name: gen, path: %s, white_list: [".*"]}
dao: {etcd_data_dir: %s}
log: {stdout: true, level: error}
broker:
  listen_address: 127.0.0.1:0
  plain_http: true
  basic_auth_dir: %s
  auto_escalate: true
  bootstrap_on_startup: true
  auth: [{type: basic, enabled: true}]
`, reg, filepath.Join(dir, "etcd"), auth)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, cfgPath, io.Discard, daemon.Options{
			Runtime: none.Runtime{Reason: "load test"}, Ready: func(u string) { ready <- u }})
	}()
	var url string
	select {
	case url = <-ready:
	case err := <-done:
		return err
	}
	req, _ := http.NewRequest("GET", url+"/v2/catalog", nil)
	req.SetBasicAuth("admin", "admin")
	req.Header.Set("X-Broker-API-Version", "2.17")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	gz := gzipped(body)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Vary", "Accept-Encoding")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz)
			return
		}
		w.Write(body)
	})}
	go base.Serve(l)
	defer base.Close()
	fmt.Printf("broker %s/v2/catalog\nbaseline http://%s/v2/catalog\nbytes %d\ngzip_bytes %d\n", url, l.Addr(), len(body), len(gz))
	return <-done
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
