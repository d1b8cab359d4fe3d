package procnet

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

// The lister finds listeners this process opens, and only while they are
// open.
func TestListenersOfThisProcess(t *testing.T) {
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "s.sock")
	ul, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	// A connected, non-listening socket must not count.
	c, err := net.Dial("tcp", tl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ls, err := Listeners(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	port := tl.Addr().(*net.TCPAddr).Port
	var tcp, unix int
	for _, l := range ls {
		switch {
		case l.Network == "tcp" && l.Port == port && l.Addr == tl.Addr().String():
			tcp++
		case l.Network == "unix" && l.Addr == sock:
			unix++
		case l.Network == "tcp" || l.Network == "tcp6":
			t.Errorf("unexpected TCP listener %s", l)
		}
	}
	if tcp != 1 || unix != 1 {
		t.Fatalf("listeners %v: want the TCP one on %d and the unix one at %s", ls, port, sock)
	}
	tl.Close()
	ul.Close()
	ls, _ = Listeners(os.Getpid())
	for _, l := range ls {
		if l.Port == port || l.Addr == sock {
			t.Errorf("closed listener still listed: %s", l)
		}
	}
}
