package regtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Binary is Debian's docker-registry (distribution 2.8).
const Binary = "/usr/bin/docker-registry"

// InstallHint says how to get what StartDockerRegistry needs.
const InstallHint = "install Debian's docker-registry and apache2-utils (sudo apt-get install docker-registry apache2-utils; hack/test.sh does it), or set OSB_SKIP=registry"

// Auth selects how the registry authenticates clients.
type Auth struct {
	// User and Pass enable htpasswd basic auth (bcrypt via htpasswd -B).
	User, Pass string
	// Token enables Bearer token auth against this token server's
	// realm; the registry trusts its certificate.
	Token      *TokenServer
	TokenRealm string
}

// DockerRegistry is a running docker-registry on 127.0.0.1.
type DockerRegistry struct {
	Host string // 127.0.0.1:port
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// StartDockerRegistry runs docker-registry with its storage in dir and
// waits (at most 15 s) until /v2/ answers.
func StartDockerRegistry(ctx context.Context, dir string, auth Auth) (*DockerRegistry, error) {
	bin, err := exec.LookPath(Binary)
	if err != nil {
		return nil, fmt.Errorf("docker-registry not found: %s", InstallHint)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	host := fmt.Sprintf("127.0.0.1:%d", port)
	var authCfg string
	switch {
	case auth.Token != nil:
		bundle := filepath.Join(dir, "token-root.pem")
		if err := os.WriteFile(bundle, auth.Token.CertPEM(), 0o600); err != nil {
			return nil, err
		}
		authCfg = fmt.Sprintf("auth:\n  token:\n    realm: %q\n    service: %q\n    issuer: %q\n    rootcertbundle: %q\n",
			auth.TokenRealm, auth.Token.Service, auth.Token.Issuer, bundle)
	case auth.User != "":
		htp, err := exec.LookPath("htpasswd")
		if err != nil {
			return nil, fmt.Errorf("htpasswd not found: %s", InstallHint)
		}
		file := filepath.Join(dir, "htpasswd")
		// -i reads the password from stdin, keeping it off the command line.
		cmd := exec.CommandContext(ctx, htp, "-B", "-i", "-c", file, auth.User)
		cmd.Stdin = strings.NewReader(auth.Pass)
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("htpasswd: %v: %s", err, out)
		}
		authCfg = fmt.Sprintf("auth:\n  htpasswd:\n    realm: test\n    path: %q\n", file)
	}
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %q
  delete:
    enabled: true
http:
  addr: %s
  secret: regtest-not-a-secret
%s`, filepath.Join(dir, "data"), host, authCfg)
	cfgFile := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	logFile := filepath.Join(dir, "registry.log")
	lf, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", cfgFile)
	cmd.Stdout, cmd.Stderr = lf, lf
	// Die with the process that started it, even when that one is killed
	// before Close (a benchmark interrupted, a test timing out).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("starting docker-registry: %w", err)
	}
	r := &DockerRegistry{Host: host, cmd: cmd, done: make(chan struct{}), log: logFile}
	go func() { cmd.Wait(); lf.Close(); close(r.done) }()

	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			return r, nil // 200, or 401 with auth: serving either way
		}
		select {
		case <-r.done:
			out, _ := os.ReadFile(logFile)
			return nil, fmt.Errorf("docker-registry exited: %s", out)
		case <-ctx.Done():
			r.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.Close()
			return nil, errors.New("docker-registry did not answer on /v2/ within 15s")
		}
	}
}

// Close stops the registry and waits for it (at most 5 s).
func (r *DockerRegistry) Close() {
	if r.cmd.Process != nil {
		r.cmd.Process.Kill()
	}
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
