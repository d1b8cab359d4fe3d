package emulator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// server is one started process: the emulator or the bare baseline.
type server struct {
	cmd   *exec.Cmd
	url   string
	ready time.Duration
}

// build compiles the emulator and the baseline once per benchmark binary.
var build = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "bench-emulator-")
	if err != nil {
		return "", err
	}
	for _, p := range []string{"../../cmd/openstack-emulator", "./bare"} {
		out, err := exec.Command("go", "build", "-o", dir, p).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("go build %s: %v\n%s", p, err, out)
		}
	}
	return dir, nil
})

var readyLine = regexp.MustCompile(`(http://127\.0\.0\.1:\d+)`)

// start runs bin with args and waits for its ready line; ready is the time
// from exec to that line.
func start(tb testing.TB, bin string, args ...string) *server {
	tb.Helper()
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = io.Discard
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		io.Copy(io.Discard, out)
	}()
	select {
	case l, ok := <-line:
		m := readyLine.FindStringSubmatch(l)
		if !ok || m == nil {
			tb.Fatalf("%s printed no ready line with an URL (got %q)", bin, l)
		}
		return &server{cmd: cmd, url: m[1], ready: time.Since(t0)}
	case <-time.After(30 * time.Second):
		tb.Fatalf("%s not ready after 30 s", bin)
	}
	return nil
}

// rssKB is the process's resident set from /proc.
func rssKB(tb testing.TB, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	tb.Fatal("no VmRSS")
	return 0
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// BenchmarkStartToReady: exec to the ready line, emulator and bare
// interleaved, 15 rounds each; medians, and RSS right after ready.
func BenchmarkStartToReady(b *testing.B) {
	dir, err := build()
	if err != nil {
		b.Fatal(err)
	}
	const rounds = 15
	var emu, bare []time.Duration
	var emuRSS, bareRSS int
	for range b.N {
		for range rounds {
			e := start(b, filepath.Join(dir, "openstack-emulator"), "-listen", "127.0.0.1:0", "-log-level", "warn")
			emu = append(emu, e.ready)
			time.Sleep(100 * time.Millisecond) // settle before reading RSS
			emuRSS = max(emuRSS, rssKB(b, e.cmd.Process.Pid))
			e.cmd.Process.Kill()
			e.cmd.Wait()
			r := start(b, filepath.Join(dir, "bare"))
			bare = append(bare, r.ready)
			time.Sleep(100 * time.Millisecond)
			bareRSS = max(bareRSS, rssKB(b, r.cmd.Process.Pid))
			r.cmd.Process.Kill()
			r.cmd.Wait()
		}
	}
	me, mb := median(emu), median(bare)
	b.ReportMetric(float64(me.Microseconds())/1000, "emulator-ready-ms")
	b.ReportMetric(float64(mb.Microseconds())/1000, "bare-ready-ms")
	b.ReportMetric(float64(me)/float64(mb), "ready-ratio")
	b.ReportMetric(float64(emuRSS)/1024, "emulator-empty-rss-MB")
	b.ReportMetric(float64(bareRSS)/1024, "bare-empty-rss-MB")
	b.ReportMetric(0, "ns/op")
}

// token logs the demo user in with the password clouds.yaml holds.
func token(tb testing.TB, base, cloudsYAML string) string {
	tb.Helper()
	y, err := os.ReadFile(cloudsYAML)
	if err != nil {
		tb.Fatal(err)
	}
	// The first cloud is "emulator": demo's password is its first password line.
	m := regexp.MustCompile(`password: "?([^"\n]+)"?`).FindSubmatch(y)
	if m == nil {
		tb.Fatalf("no password in %s", cloudsYAML)
	}
	body := fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"demo","domain":{"name":"Default"},"password":%q}}},
"scope":{"project":{"name":"demo","domain":{"name":"Default"}}}}}`, m[1])
	resp, err := http.Post(base+"/v3/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 201 {
		tb.Fatalf("token: %s", resp.Status)
	}
	return resp.Header.Get("X-Subject-Token")
}

// hammer GETs url from `workers` goroutines for d and returns requests/s.
func hammer(tb testing.TB, url, tok string, d time.Duration, workers int) float64 {
	tb.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var n, bad atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				req.Header.Set("X-Auth-Token", tok)
				resp, err := c.Do(req)
				if err != nil {
					continue // the deadline
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					bad.Add(1)
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if bad.Load() > 0 {
		tb.Fatalf("%d of %d GETs of %s were not 200", bad.Load(), n.Load(), url)
	}
	return float64(n.Load()) / time.Since(t0).Seconds()
}

// BenchmarkKeypairGet: GET /compute/v2.1/os-keypairs/<name> with a token
// (Keystone validation, Nova's lookup and JSON), from 2 x GOMAXPROCS
// workers for 5 s, against the bare server answering the same bytes, in
// alternating 5 s rounds; then the emulator's RSS after the load.
func BenchmarkKeypairGet(b *testing.B) {
	dir, err := build()
	if err != nil {
		b.Fatal(err)
	}
	clouds := filepath.Join(b.TempDir(), "clouds.yaml")
	e := start(b, filepath.Join(dir, "openstack-emulator"), "-listen", "127.0.0.1:0", "-log-level", "warn", "-clouds-yaml", clouds)
	tok := token(b, e.url, clouds)
	req, _ := http.NewRequest(http.MethodPost, e.url+"/compute/v2.1/os-keypairs", strings.NewReader(`{"keypair":{"name":"bench"}}`))
	req.Header.Set("X-Auth-Token", tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 && resp.StatusCode != 201 {
		b.Fatalf("creating the keypair: %s", resp.Status)
	}
	url := e.url + "/compute/v2.1/os-keypairs/bench"
	req, _ = http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("X-Auth-Token", tok)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	one, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !json.Valid(one) || !bytes.Contains(one, []byte(`"bench"`)) {
		b.Fatalf("GET keypair: %s %s", resp.Status, one)
	}
	r := start(b, filepath.Join(dir, "bare"), "-body", string(one))
	workers := 2 * runtime.GOMAXPROCS(0)
	var emuRate, bareRate float64
	for range b.N {
		for range 2 {
			emuRate += hammer(b, url, tok, 5*time.Second, workers)
			bareRate += hammer(b, r.url+"/compute/v2.1/os-keypairs/bench", tok, 5*time.Second, workers)
		}
	}
	emuRate /= float64(2 * b.N)
	bareRate /= float64(2 * b.N)
	b.ReportMetric(emuRate, "emulator-GETs/s")
	b.ReportMetric(bareRate, "bare-GETs/s")
	b.ReportMetric(emuRate/bareRate, "rate-ratio")
	b.ReportMetric(float64(rssKB(b, e.cmd.Process.Pid))/1024, "emulator-rss-after-MB")
	b.ReportMetric(float64(rssKB(b, r.cmd.Process.Pid))/1024, "bare-rss-after-MB")
	b.ReportMetric(0, "ns/op")
}
