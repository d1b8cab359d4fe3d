package emulator_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The Python clients (the openstack CLI and openstacksdk scripts) cost
// about a second of CPU each just to start: the interpreter, then
// openstackclient's and its plugins' imports. With a few hundred calls on
// a 2-core machine that was most of the suite's time, so by default they
// run in children forked from one warm Python process (the fork server
// below) that has imported those modules and nothing else: each call is
// still a fresh process running the CLI's own entry point
// (openstackclient.shell.main, what /usr/bin/openstack calls) with its
// arguments, or the script as `python3 -c` runs it, with its own
// environment, working directory, stdin (/dev/null), stdout and stderr.
// OSB_EMULATOR_CLIENTS=exec runs /usr/bin/openstack and python3 instead.

// forkServerPy is the fork server: it warms the imports, listens on a
// Unix socket, and forks a child per connection. A request is one JSON
// line {kind: "cli"|"python", argv, script, env, cwd, stdout, stderr};
// the child answers its pid, runs the client, then answers its exit code.
// It exits when its stdin closes (the test binary ended).
const forkServerPy = `import importlib.metadata, json, os, random, signal, socket, sys, threading, traceback
import openstack
import openstackclient.shell as shell
eps = importlib.metadata.entry_points()
for group in eps.groups:
    if group.startswith("openstack."):
        for ep in eps.select(group=group):
            try:
                ep.load()
            except Exception:
                pass

def serve(conn):
    f = conn.makefile("rb")
    req = json.loads(f.readline())
    conn.sendall(b"%d\n" % os.getpid())
    random.seed()
    os.chdir(req["cwd"])
    os.environ.update(req["env"])
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(os.open(req["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 1)
    os.dup2(os.open(req["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
    code = 0
    try:
        if req["kind"] == "cli":
            sys.argv = ["/usr/bin/openstack"] + req["argv"]
            code = shell.main(req["argv"])
        else:
            sys.argv = ["-c"]
            exec(compile(req["script"], "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            code = e.code
        else:
            print(e.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    conn.sendall(b"%d\n" % (code or 0))

sock = socket.socket(socket.AF_UNIX)
sock.bind(sys.argv[1])
sock.listen(128)
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
sys.stdout.write("ready\n")
sys.stdout.flush()
while True:
    conn, _ = sock.accept()
    if os.fork() == 0:
        try:
            sock.close()
            serve(conn)
        finally:
            os._exit(0)
    conn.close()
`

type forkServer struct {
	dir   string
	sock  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

var (
	forkOnce sync.Once
	forkSrv  *forkServer
	forkErr  error
)

func useForkServer() bool { return os.Getenv("OSB_EMULATOR_CLIENTS") != "exec" }

// startForkServer starts the fork server once per test binary; TestMain
// stops it.
func startForkServer() (*forkServer, error) {
	forkOnce.Do(func() {
		dir, err := os.MkdirTemp("", "osb-emulator-clients-")
		if err != nil {
			forkErr = err
			return
		}
		f := &forkServer{dir: dir, sock: filepath.Join(dir, "sock")}
		f.cmd = exec.Command(python3, "-c", forkServerPy, f.sock)
		// Its working directory holds no clouds.yaml: openstacksdk also
		// searches the directory it was imported in.
		f.cmd.Dir = dir
		f.cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
		f.cmd.Stderr = os.Stderr
		if f.stdin, err = f.cmd.StdinPipe(); err != nil {
			forkErr = err
			return
		}
		out, err := f.cmd.StdoutPipe()
		if err != nil {
			forkErr = err
			return
		}
		if err := f.cmd.Start(); err != nil {
			forkErr = err
			return
		}
		ready := make(chan error, 1)
		go func() {
			line, err := bufio.NewReader(out).ReadString('\n')
			if err == nil && line != "ready\n" {
				err = fmt.Errorf("unexpected %q", line)
			}
			ready <- err
		}()
		select {
		case err = <-ready:
		case <-time.After(time.Minute):
			err = fmt.Errorf("not ready after a minute")
		}
		if err != nil {
			f.stop()
			forkErr = fmt.Errorf("the Python clients' fork server did not start: %w", err)
			return
		}
		forkSrv = f
	})
	return forkSrv, forkErr
}

func (f *forkServer) stop() {
	if f == nil {
		return
	}
	_ = f.stdin.Close()
	done := make(chan struct{})
	go func() { _ = f.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = f.cmd.Process.Kill()
		<-done
	}
	_ = os.RemoveAll(f.dir)
}

// run runs one client in a forked child and returns its output and exit
// code; timedOut when ctx ended first (the child is killed).
func (f *forkServer) run(ctx context.Context, kind string, argv []string, script string, env map[string]string, cwd string) (stdout, stderr string, code int, timedOut bool, err error) {
	files, err := os.MkdirTemp(f.dir, "run-")
	if err != nil {
		return "", "", 0, false, err
	}
	defer os.RemoveAll(files)
	outPath, errPath := filepath.Join(files, "stdout"), filepath.Join(files, "stderr")
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", f.sock)
	if err != nil {
		return "", "", 0, false, err
	}
	defer conn.Close()
	req, _ := json.Marshal(map[string]any{"kind": kind, "argv": argv, "script": script, "env": env, "cwd": cwd,
		"stdout": outPath, "stderr": errPath})
	if _, err := conn.Write(append(req, '\n')); err != nil {
		return "", "", 0, false, err
	}
	type answer struct {
		code int
		err  error
	}
	pidc, done := make(chan int, 1), make(chan answer, 1)
	go func() {
		r := bufio.NewReader(conn)
		line, err := r.ReadString('\n')
		pid, perr := strconv.Atoi(strings.TrimSpace(line))
		if err != nil || perr != nil {
			done <- answer{err: fmt.Errorf("no pid from the fork server: %q %v", line, err)}
			return
		}
		pidc <- pid
		line, err = r.ReadString('\n')
		c, cerr := strconv.Atoi(strings.TrimSpace(line))
		if err != nil || cerr != nil {
			done <- answer{err: fmt.Errorf("the client process died without an exit code: %q %v", line, err)}
			return
		}
		done <- answer{code: c}
	}()
	read := func() (string, string) {
		o, _ := os.ReadFile(outPath)
		e, _ := os.ReadFile(errPath)
		return string(o), string(e)
	}
	pid := 0
	for {
		select {
		case pid = <-pidc:
			continue
		case a := <-done:
			o, e := read()
			return o, e, a.code, false, a.err
		case <-ctx.Done():
			if pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			o, e := read()
			return o, e, 0, true, nil
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	forkSrv.stop()
	os.Exit(code)
}

// runClient runs the openstack CLI with args (kind "cli") or a Python
// script (kind "python") against this cloud, within the harness's client
// bound, and returns stdout, stderr and the exit code.
func (c *Cloud) runClient(t *testing.T, kind string, args []string, script string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTime)
	defer cancel()
	name := openstackCLI
	if kind == "python" {
		name = python3
	}
	if useForkServer() {
		f, err := startForkServer()
		if err != nil {
			t.Fatal(err)
		}
		out, stderr, code, timedOut, err := f.run(ctx, kind, args, script, map[string]string{"OS_CLIENT_CONFIG_FILE": c.CloudsYAML}, c.Dir)
		if timedOut {
			t.Fatalf("%s timed out after %s\n%s\n%s", name, clientTime, out, stderr)
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s\n%s", name, err, out, stderr)
		}
		return out, stderr, code
	}
	cmd := exec.CommandContext(ctx, openstackCLI, args...)
	if kind == "python" {
		cmd = exec.CommandContext(ctx, python3, "-c", script)
	}
	return c.run(ctx, t, cmd)
}
