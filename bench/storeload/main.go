package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/daemon"
	osbruntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/inproc"
	"github.com/openstack-service-broker/openstack-service-broker/test/bundlegen"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: storeload serve|drive [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "drive":
		err = drive(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "storeload:", err)
		os.Exit(1)
	}
}

// cycleBundle is the bundle the load provisions: no parameters.
const cycleBundle = `version: '1.0'
name: cycle-apb
description: provisioned and deprovisioned by the store load
bindable: false
async: optional
plans:
  - name: default
    description: the only plan
    free: true
    parameters: []
`

// serve runs a broker on dir (made on first use) and prints "ready <url>"
// once it answers.
func serve(args []string) error {
	fl := flag.NewFlagSet("serve", flag.ExitOnError)
	dir := fl.String("dir", "", "working directory (registry, auth, etcd)")
	addr := fl.String("addr", "127.0.0.1:0", "listen address")
	n := fl.Int("bundles", 1000, "generated bundles")
	compaction := fl.Duration("compaction", 30*time.Second, "dao.compaction_interval (brokers without it ignore the key)")
	profiles := fl.String("profiles", "", "directory for heap profiles written on SIGUSR1")
	rate := fl.Int("memprofilerate", 64<<10, "runtime.MemProfileRate: bytes per heap profile sample")
	fl.Parse(args)
	runtime.MemProfileRate = *rate
	if *dir == "" {
		return errors.New("-dir is required")
	}
	reg := filepath.Join(*dir, "registry")
	if _, err := os.Stat(reg); err != nil {
		if err := bundlegen.WriteDir(reg, bundlegen.Generate(*n, 1)); err != nil {
			return err
		}
		os.MkdirAll(filepath.Join(reg, "cycle-apb"), 0o755)
		if err := os.WriteFile(filepath.Join(reg, "cycle-apb", "apb.yml"), []byte(cycleBundle), 0o644); err != nil {
			return err
		}
	}
	auth := filepath.Join(*dir, "auth")
	os.MkdirAll(auth, 0o700)
	os.WriteFile(filepath.Join(auth, "username"), []byte("admin"), 0o600)
	os.WriteFile(filepath.Join(auth, "password"), []byte("admin"), 0o600)
	cfg := fmt.Sprintf(`registry:
  - {type: local, name: gen, path: %s, white_list: [".*"]}
dao:
  etcd_data_dir: %s
  compaction_interval: %s
log: {stdout: true, level: error}
broker:
  listen_address: %s
  plain_http: true
  basic_auth_dir: %s
  bootstrap_on_startup: true
  auth: [{type: basic, enabled: true}]
`, reg, filepath.Join(*dir, "etcd"), *compaction, *addr, auth)
	cfgPath := filepath.Join(*dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *profiles != "" {
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, syscall.SIGUSR1)
		go func() {
			for i := 1; ; i++ {
				select {
				case <-ctx.Done():
					return
				case <-usr1:
				}
				runtime.GC()
				f, err := os.Create(filepath.Join(*profiles, fmt.Sprintf("heap-%d.pprof", i)))
				if err == nil {
					pprof.WriteHeapProfile(f)
					f.Close()
				}
				fmt.Println("profiled", i)
			}
		}()
	}
	rt := inproc.New(func(context.Context, osbruntime.Action, osbruntime.Progress) (*osbruntime.Result, error) {
		return &osbruntime.Result{Credentials: map[string]any{"user": "u", "password": "p"}}, nil
	})
	return daemon.Run(ctx, cfgPath, io.Discard, daemon.Options{
		Runtime: rt, Version: "storeload", Ready: func(u string) { fmt.Println("ready", u) }})
}

// broker is one served broker process, seen from the driver.
type broker struct {
	cmd   *exec.Cmd
	url   string
	lines chan string
}

func start(bin, dir, addr, profiles string) (*broker, time.Duration, error) {
	cmd := exec.Command(bin, "serve", "-dir", dir, "-addr", addr, "-profiles", profiles)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	b := &broker{cmd: cmd, lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			b.lines <- sc.Text()
		}
		close(b.lines)
	}()
	select {
	case l, ok := <-b.lines:
		if !ok || !strings.HasPrefix(l, "ready ") {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, 0, fmt.Errorf("%s did not start: %q", bin, l)
		}
		b.url = strings.TrimPrefix(l, "ready ")
	case <-time.After(5 * time.Minute):
		cmd.Process.Kill()
		cmd.Wait()
		return nil, 0, fmt.Errorf("%s did not start in 5 min", bin)
	}
	return b, time.Since(t0), nil
}

func (b *broker) stop() error {
	b.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- b.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(60 * time.Second):
		b.cmd.Process.Kill()
		return errors.New("did not stop within 60 s")
	}
}

// profile asks for a heap profile and waits for it.
func (b *broker) profile() {
	b.cmd.Process.Signal(syscall.SIGUSR1)
	select {
	case <-b.lines:
	case <-time.After(30 * time.Second):
	}
}

// memory is the process's resident set, split as the kernel accounts it:
// anonymous (Go heap, stacks, etcd's caches) and file-backed (the binary,
// bbolt's mmap of the database).
type memory struct{ rss, anon, file int64 }

func (b *broker) memory() memory {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", b.cmd.Process.Pid))
	var m memory
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			m.rss = kb << 10
		case "RssAnon:":
			m.anon = kb << 10
		case "RssFile:":
			m.file = kb << 10
		}
	}
	return m
}

// client sends OSB requests.
type client struct {
	url string
	hc  *http.Client
}

func (c *client) do(method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.SetBasicAuth("admin", "admin")
	req.Header.Set("X-Broker-API-Version", "2.17")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

func uuid() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}

// cycleIDs finds the cycle bundle's service and plan in the catalog.
func (c *client) cycleIDs() (string, string, error) {
	status, data, err := c.do("GET", "/v2/catalog", nil)
	if err != nil || status != 200 {
		return "", "", fmt.Errorf("catalog: %d %v", status, err)
	}
	var cat struct {
		Services []struct {
			ID, Name string
			Plans    []struct{ ID string }
		}
	}
	if err := json.Unmarshal(data, &cat); err != nil {
		return "", "", err
	}
	for _, s := range cat.Services {
		if s.Name == "gen-cycle-apb" && len(s.Plans) > 0 {
			return s.ID, s.Plans[0].ID, nil
		}
	}
	return "", "", fmt.Errorf("no gen-cycle-apb among %d services", len(cat.Services))
}

// poll waits for an operation: done when last_operation says succeeded,
// or 410 after a deprovision.
func (c *client) poll(id, op string) error {
	for i := 0; i < 2000; i++ {
		status, data, err := c.do("GET", "/v2/service_instances/"+id+"/last_operation?operation="+op, nil)
		if err != nil {
			return err
		}
		if status == http.StatusGone {
			return nil
		}
		if status >= 500 {
			retries.Add(1)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if status != 200 {
			return fmt.Errorf("last_operation %s: %d %s", id, status, data)
		}
		var lo struct{ State string }
		json.Unmarshal(data, &lo)
		switch lo.State {
		case "succeeded":
			return nil
		case "failed":
			return fmt.Errorf("operation on %s failed: %s", id, data)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("operation on %s did not end", id)
}

// retries counts requests repeated after a 5xx or 422 ConcurrencyError,
// as platforms repeat them.
var retries atomic.Int64

// send repeats a request while the broker answers 5xx or 422 (a platform
// retries both), within 60 tries.
func (c *client) send(method, path string, body any, want int) ([]byte, error) {
	for try := 0; ; try++ {
		status, data, err := c.do(method, path, body)
		if err == nil && status == want {
			return data, nil
		}
		if try >= 60 || (err == nil && status < 500 && status != http.StatusUnprocessableEntity) {
			return nil, fmt.Errorf("%s %s: %d %s %v", method, path, status, data, err)
		}
		retries.Add(1)
		time.Sleep(time.Duration(min(try+1, 10)) * 100 * time.Millisecond)
	}
}

// cycle provisions and deprovisions one new instance.
func (c *client) cycle(sid, pid string) error {
	id := uuid()
	data, err := c.send("PUT", "/v2/service_instances/"+id+"?accepts_incomplete=true", map[string]any{
		"service_id": sid, "plan_id": pid, "organization_guid": "o", "space_guid": "s",
		"context": map[string]any{"platform": "kubernetes", "namespace": "bench"},
	}, http.StatusAccepted)
	if err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	var r struct{ Operation string }
	json.Unmarshal(data, &r)
	if err := c.poll(id, r.Operation); err != nil {
		return err
	}
	data, err = c.send("DELETE", fmt.Sprintf("/v2/service_instances/%s?accepts_incomplete=true&service_id=%s&plan_id=%s", id, sid, pid), nil, http.StatusAccepted)
	if err != nil {
		return fmt.Errorf("deprovision: %w", err)
	}
	json.Unmarshal(data, &r)
	return c.poll(id, r.Operation)
}

// load runs catalog reads and n cycles on conc connections.
func load(url string, n, conc int) (time.Duration, error) {
	c := &client{url: url, hc: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: conc}}}
	sid, pid, err := c.cycleIDs()
	if err != nil {
		return 0, err
	}
	// Catalog reads first, as platforms do: the catalog's copies are part
	// of what "after load" holds.
	for range 100 {
		if status, _, err := c.do("GET", "/v2/catalog", nil); err != nil || status != 200 {
			return 0, fmt.Errorf("catalog: %d %v", status, err)
		}
	}
	t0 := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := c.cycle(sid, pid); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(t0), first
}

// diskUsage is the blocks the files under dir occupy, and the bbolt
// database file's size.
func diskUsage(dir string) (total, db int64) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				total += st.Blocks * 512
			}
			if d.Name() == "db" {
				db = fi.Size()
			}
		}
		return nil
	})
	return total, db
}

// result is one broker's figures.
type result struct {
	startEmpty, startAfter           time.Duration
	idle, afterLoad, settled, reIdle memory
	loadTime                         time.Duration
	retries                          int64
	disk, db                         int64
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func measure(name, bin, work string, cycles, conc int, settle time.Duration) (*result, error) {
	dir := filepath.Join(work, name)
	profiles := filepath.Join(work, name+"-profiles")
	os.MkdirAll(dir, 0o700)
	os.MkdirAll(profiles, 0o755)
	addr := freeAddr()
	var r result
	b, d, err := start(bin, dir, addr, profiles)
	if err != nil {
		return nil, err
	}
	r.startEmpty = d
	time.Sleep(settle)
	r.idle = b.memory()
	b.profile() // heap-1: idle
	fmt.Fprintf(os.Stderr, "%s: %d cycles on %d connections...\n", name, cycles, conc)
	retries.Store(0)
	r.loadTime, err = load(b.url, cycles, conc)
	r.retries = retries.Load()
	if err != nil {
		b.stop()
		return nil, fmt.Errorf("%s load: %w", name, err)
	}
	r.afterLoad = b.memory()
	time.Sleep(settle)
	r.settled = b.memory()
	b.profile() // heap-2: after load
	if err := b.stop(); err != nil {
		fmt.Fprintf(os.Stderr, "%s stop: %v\n", name, err)
	}
	r.disk, r.db = diskUsage(filepath.Join(dir, "etcd"))
	b, d, err = start(bin, dir, addr, profiles)
	if err != nil {
		return nil, err
	}
	r.startAfter = d
	time.Sleep(settle)
	r.reIdle = b.memory()
	b.stop()
	return &r, nil
}

func drive(args []string) error {
	fl := flag.NewFlagSet("drive", flag.ExitOnError)
	current := fl.String("current", "", "storeload binary built from the current tree")
	baseline := fl.String("baseline", "", "storeload binary built from the baseline tree")
	work := fl.String("work", "", "working directory")
	cycles := fl.Int("cycles", 20000, "provision/deprovision cycles")
	conc := fl.Int("conc", 16, "concurrent connections")
	settle := fl.Duration("settle", 40*time.Second, "wait before reading RSS (longer than the compaction interval: one maintenance pass)")
	fl.Parse(args)
	if *current == "" || *baseline == "" || *work == "" {
		return errors.New("-current, -baseline and -work are required")
	}
	res := map[string]*result{}
	for _, b := range []struct{ name, bin string }{{"baseline", *baseline}, {"current", *current}} {
		r, err := measure(b.name, b.bin, *work, *cycles, *conc, *settle)
		if err != nil {
			return err
		}
		res[b.name] = r
	}
	mb := func(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
	sec := func(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
	ratio := func(a, b float64) string { return fmt.Sprintf("x%.2f", b/a) }
	type row struct{ what, base, cur, ratio string }
	b, c := res["baseline"], res["current"]
	rows := []row{
		{"start-up, empty store (1,000 bundles)", sec(b.startEmpty), sec(c.startEmpty), ratio(b.startEmpty.Seconds(), c.startEmpty.Seconds())},
		{fmt.Sprintf("%d cycles (%d connections)", *cycles, *conc), sec(b.loadTime), sec(c.loadTime), ratio(b.loadTime.Seconds(), c.loadTime.Seconds())},
		{"  requests repeated after 5xx/422", fmt.Sprint(b.retries), fmt.Sprint(c.retries), ""},
		{"store on disk after the cycles", mb(b.disk), mb(c.disk), ratio(float64(b.disk), float64(c.disk))},
		{"  of which the bbolt database", mb(b.db), mb(c.db), ratio(float64(b.db), float64(c.db))},
		{"start-up on that store", sec(b.startAfter), sec(c.startAfter), ratio(b.startAfter.Seconds(), c.startAfter.Seconds())},
	}
	for _, m := range []struct {
		what string
		b, c memory
	}{{"RSS idle, 1,000 bundles", b.idle, c.idle}, {"RSS right after the load", b.afterLoad, c.afterLoad},
		{fmt.Sprintf("RSS %s after the load", *settle), b.settled, c.settled}, {"RSS idle after restart", b.reIdle, c.reIdle}} {
		rows = append(rows, row{m.what, mb(m.b.rss), mb(m.c.rss), ratio(float64(m.b.rss), float64(m.c.rss))},
			row{"  anonymous / file-backed", mb(m.b.anon) + " / " + mb(m.b.file), mb(m.c.anon) + " / " + mb(m.c.file), ""})
	}
	fmt.Printf("%-42s %20s %20s %7s\n", "", "baseline", "current", "ratio")
	for _, r := range rows {
		fmt.Printf("%-42s %20s %20s %7s\n", r.what, r.base, r.cur, r.ratio)
	}
	fmt.Printf("heap profiles: %s/{baseline,current}-profiles/heap-{1,2}.pprof (idle, after load)\n", *work)
	return nil
}
