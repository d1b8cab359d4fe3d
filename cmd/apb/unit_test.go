package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
)

func TestTyped(t *testing.T) {
	for _, tc := range []struct {
		in, typ string
		want    any
		err     string
	}{
		{"3", "integer", int64(3), ""},
		{"3.5", "integer", nil, "not an integer"},
		{"3.5", "number", 3.5, ""},
		{"true", "boolean", true, ""},
		{"yes", "boolean", nil, "not a boolean"},
		{`{"a":1}`, "object", map[string]any{"a": float64(1)}, ""},
		{`[1,`, "array", nil, "not JSON"},
		{"007", "string", "007", ""},
		{"007", "", "007", ""},
	} {
		got, err := typed(tc.in, map[string]any{"type": tc.typ})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s as %s: err %v, want %q", tc.in, tc.typ, err, tc.err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s as %s: %#v, %v; want %#v", tc.in, tc.typ, got, err, tc.want)
		}
	}
}

func TestParamValues(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "p.yml")
	must(t, writeFile(file, "size: 2\nname: from-file\ntags: [a, b]\nnested: {1: one}\n"))
	pr := newProps(map[string]any{"properties": map[string]any{"size": map[string]any{"type": "integer"}}, "required": []any{"name", "zone"}})
	pf := paramFlags{file: file, pairs: []string{"size=5", "name=from-flag", "raw:=[1,2]", "eq=a=b"}}
	got, err := pf.values(pr)
	if err != nil {
		t.Fatal(err)
	}
	if got["size"] != int64(5) || got["name"] != "from-flag" || fmt.Sprint(got["raw"]) != "[1 2]" || got["eq"] != "a=b" ||
		fmt.Sprint(got["tags"]) != "[a b]" || fmt.Sprint(got["nested"]) != "map[1:one]" {
		t.Errorf("values = %#v", got)
	}
	if m := pr.missing(got); len(m) != 1 || m[0] != "zone" {
		t.Errorf("missing = %v", m)
	}
	for _, bad := range []string{"novalue", "=x", "size=big", "j:={"} {
		if _, err := (&paramFlags{pairs: []string{bad}}).values(pr); exitCode(context.Background(), err) != exitUsage {
			t.Errorf("%q: err %v, want a usage error", bad, err)
		}
	}
}

// Prompting needs a terminal; elsewhere the missing parameters are named.
func TestPrompterOffTerminal(t *testing.T) {
	pr := newProps(map[string]any{"required": []any{"b", "a"}})
	err := newPrompter(strings.NewReader("x\n"), &bytes.Buffer{}).complete(pr, map[string]any{})
	if err == nil || !strings.Contains(err.Error(), "missing required parameter(s): a, b") || exitCode(context.Background(), err) != exitUsage {
		t.Errorf("err = %v", err)
	}
}

// On a terminal the prompter asks for each missing parameter, again
// after a bad answer.
func TestPrompterAsks(t *testing.T) {
	pr := newProps(map[string]any{"type": "object", "required": []any{"n", "z"}, "properties": map[string]any{
		"n": map[string]any{"type": "integer", "title": "Count", "minimum": 1},
		"z": map[string]any{"type": "string", "enum": []any{"a", "b"}, "description": "the zone"},
	}})
	var out bytes.Buffer
	p := &prompter{in: nil, out: &out, fd: 0}
	p.rd = bufioReader("zero\n0\n4\nc\nb\n")
	have := map[string]any{}
	if err := p.complete(pr, have); err != nil {
		t.Fatal(err)
	}
	if have["n"] != int64(4) || have["z"] != "b" {
		t.Errorf("answers = %#v\n%s", have, out.String())
	}
	for _, want := range []string{"Count (n): ", `"zero" is not an integer`, "must be >= 1", "z [a|b]: ", "the zone"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("prompts lack %q:\n%s", want, out.String())
		}
	}
}

func TestProgressPlain(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, false, "provision x")
	p.update("in progress", "10%: a")
	p.update("in progress", "10%: a") // no change, no line
	p.update("in progress", "50%: b")
	p.stop("succeeded")
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 || lines[1] != "provision x: in progress: 10%: a" || !strings.HasPrefix(lines[3], "provision x: succeeded after ") {
		t.Errorf("lines:\n%s", b.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProgressTerminal(t *testing.T) {
	var b syncBuffer
	p := newProgress(&b, true, "bind y")
	p.update("in progress", "20%: checking")
	time.Sleep(300 * time.Millisecond)
	p.stop("succeeded")
	s := b.String()
	if !strings.Contains(s, "\r\x1b[K") || !strings.Contains(s, "bind y: in progress (") || !strings.Contains(s, "20%: checking") ||
		!strings.HasSuffix(s, "\r\x1b[Kbind y: succeeded after 0s\n") {
		t.Errorf("terminal output %q", s)
	}
	if strings.Count(s, "\r") < 3 {
		t.Errorf("the line was not redrawn while waiting: %q", s)
	}
}

func TestRecords(t *testing.T) {
	r := records{path: filepath.Join(t.TempDir(), "s", "instances.json")}
	must(t, r.put(instanceRecord{Broker: "http://b:1/", ID: "i1", Service: "s"}))
	must(t, r.put(instanceRecord{Broker: "http://other", ID: "i1"}))
	must(t, r.putBinding("http://b:1", "i1", bindingRecord{ID: "b1"}))
	must(t, r.putBinding("http://b:1", "i1", bindingRecord{ID: "b1"}))
	// A put keeps the bindings.
	must(t, r.put(instanceRecord{Broker: "http://b:1", ID: "i1", Service: "s2"}))
	got, err := r.get("http://b:1", "i1")
	if err != nil || got == nil || got.Service != "s2" || len(got.Bindings) != 1 {
		t.Fatalf("get = %+v, %v", got, err)
	}
	if all, _ := r.list(""); len(all) != 2 {
		t.Errorf("list all = %+v", all)
	}
	// Concurrent writers lose nothing.
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := r.put(instanceRecord{Broker: "http://c", ID: fmt.Sprint(i)}); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if l, _ := r.list("http://c"); len(l) != 20 {
		t.Errorf("%d of 20 concurrent records kept", len(l))
	}
	must(t, r.removeBinding("http://b:1", "i1", "b1"))
	must(t, r.remove("http://b:1", "i1"))
	if got, _ := r.get("http://b:1", "i1"); got != nil {
		t.Errorf("removed record still there: %+v", got)
	}
}

func TestExitCodes(t *testing.T) {
	ctx := context.Background()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		ctx  context.Context
		err  error
		want int
	}{
		{ctx, nil, exitOK},
		{ctx, &osbapi.Error{Status: 401}, exitUnauthorized},
		{ctx, &osbapi.Error{Status: 410}, exitNotFound},
		{ctx, fmt.Errorf("x: %w", &osbapi.Error{Status: 422}), exitRefused},
		{ctx, &osbapi.Error{Status: 503}, exitBrokerError},
		{ctx, &url.Error{Op: "Get", URL: "http://x", Err: errors.New("connection refused")}, exitUnreachable},
		{ctx, context.DeadlineExceeded, exitTimeout},
		{canceled, context.Canceled, exitInterrupted},
		{ctx, errors.New(`unknown command "x" for "apb"`), exitUsage},
		{ctx, withCode(exitUsage, errors.New("x")), exitUsage},
		{ctx, errors.New("something else"), exitFailed},
	} {
		if got := exitCode(tc.ctx, tc.err); got != tc.want {
			t.Errorf("%v: %d, want %d", tc.err, got, tc.want)
		}
	}
}

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o644) }

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

func TestPickCloud(t *testing.T) {
	one := []byte("clouds:\n  mine: {auth: {auth_url: http://x/v3}}\n")
	several := []byte("clouds:\n  emulator: {}\n  emulator-alt: {}\n  emulator-admin: {}\n")
	for _, tc := range []struct {
		name       string
		data       []byte
		asked, env string
		want       string
		wantErr    string // a usage error containing this
	}{
		{"the only cloud", one, "", "", "mine", ""},
		{"asked", several, "emulator-alt", "", "emulator-alt", ""},
		{"OS_CLOUD", several, "", "emulator", "emulator", ""},
		{"--cloud wins over OS_CLOUD", several, "emulator-admin", "emulator", "emulator-admin", ""},
		{"several, none chosen", several, "", "", "", "clouds.yaml has 3 clouds (emulator, emulator-admin, emulator-alt): choose one with --cloud"},
		{"no such cloud", one, "other", "", "", "--cloud other: no such cloud in clouds.yaml (it has mine)"},
		{"OS_CLOUD not there", one, "", "other", "", "no such cloud"},
		{"no clouds", []byte("x: 1\n"), "", "", "", "no clouds: entry"},
		{"not YAML", []byte("clouds: [\n"), "", "", "", "not a clouds.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pickCloud(tc.data, tc.asked, tc.env)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || exitCode(context.Background(), err) != exitUsage {
					t.Fatalf("pickCloud: %q, %v; want a usage error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("pickCloud: %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestPickInstance(t *testing.T) {
	none := &localState{Instances: map[string]*localInstance{}}
	one := &localState{Instances: map[string]*localInstance{"i-1": {}}}
	two := &localState{Instances: map[string]*localInstance{"i-1": {}, "i-2": {}}}
	for _, tc := range []struct {
		name    string
		st      *localState
		action  string
		given   string
		want    string // "" with wantErr: an error
		wantErr string
	}{
		{"provision: a new id", none, "provision", "", "*", ""},
		{"provision: the id given", one, "provision", "i-9", "i-9", ""},
		{"bind: the only one", one, "bind", "", "i-1", ""},
		{"bind: the one given", two, "bind", "i-2", "i-2", ""},
		{"bind: none recorded", none, "bind", "", "", "no local instance of b: run apb run provision first"},
		{"bind: several", two, "bind", "", "", "b has 2 local instances (recorded: i-1, i-2): choose one with --instance"},
		{"bind: unknown id", one, "bind", "nope", "", "--instance nope: no local instance of b by that id (recorded: i-1)"},
		{"deprovision: unknown id, none recorded", none, "deprovision", "nope", "", "(none recorded: run apb run provision first)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, _, err := pickInstance(tc.st, tc.action, tc.given, "b")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || exitCode(context.Background(), err) != exitUsage {
					t.Fatalf("pickInstance: %q, %v; want a usage error with %q", id, err, tc.wantErr)
				}
				return
			}
			if err != nil || (tc.want != "*" && id != tc.want) || id == "" {
				t.Fatalf("pickInstance: %q, %v; want %q", id, err, tc.want)
			}
		})
	}
}

func TestPushedService(t *testing.T) {
	for _, tc := range []struct {
		body, want string
	}{
		{`{"services":[{"name":"apb-push-x","id":"1"}]}`, "apb-push-x"}, // this broker: a catalog of one
		{`{"name":"apb-push-y","id":"2"}`, "apb-push-y"},                // a service alone
		{`{"description":"Pushed"}`, ""},                                // a message only
		{`not json`, ""},
	} {
		svc, ok := pushedService([]byte(tc.body))
		if ok != (tc.want != "") || svc.Name != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.body, svc.Name, ok, tc.want)
		}
	}
}
