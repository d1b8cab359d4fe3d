package main

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/moby/client"

	dockerruntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/docker"
)

// engine connects to the Docker engine (DOCKER_HOST, else the local
// socket) and checks that it answers, so that a stopped engine is one
// clear line and exit 3 rather than an error deep in a build.
func (c *cli) engine(ctx context.Context) (*client.Client, error) {
	cl, err := dockerruntime.NewClient("")
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	if _, err := cl.Ping(ctx, client.PingOptions{}); err != nil {
		cl.Close()
		return nil, engineErr(cl, err)
	}
	return cl, nil
}

// engineErr marks an engine that does not answer as unreachable and says
// how to start one.
func engineErr(cl *client.Client, err error) error {
	if client.IsErrConnectionFailed(err) {
		return withCode(exitUnreachable, fmt.Errorf("the Docker engine at %s does not answer (start it: hack/docker.sh, or sudo systemctl start docker; Debian's is docker.io): %w", cl.DaemonHost(), err))
	}
	return err
}

// buildContext tars a directory for the engine, leaving out what
// .dockerignore names (patterns as path.Match takes them, on paths
// relative to the directory; a pattern matching a directory leaves out
// all below it; "!" exceptions are not supported).
func buildContext(dir string) (io.ReadCloser, error) {
	ignore, err := readDockerignore(filepath.Join(dir, ".dockerignore"))
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil || rel == "." {
				return err
			}
			rel = filepath.ToSlash(rel)
			if ignored(rel, ignore) {
				if info.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			link := ""
			if info.Mode()&os.ModeSymlink != 0 {
				if link, err = os.Readlink(p); err != nil {
					return err
				}
			}
			hdr, err := tar.FileInfoHeader(info, link)
			if err != nil {
				return err
			}
			hdr.Name = rel
			// Ownership is the build's business (root, as docker build does).
			hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if !info.Mode().IsRegular() {
				return nil
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		})
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}

func readDockerignore(p string) ([]string, error) {
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, strings.Trim(filepath.ToSlash(filepath.Clean(l)), "/"))
	}
	return out, sc.Err()
}

func ignored(rel string, patterns []string) bool {
	for _, pat := range patterns {
		if ok, _ := filepath.Match(pat, rel); ok {
			return true
		}
	}
	return false
}
