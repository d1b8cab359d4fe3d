package procnet

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Listener is one listening socket of a process.
type Listener struct {
	// Network is "tcp", "tcp6" or "unix".
	Network string
	// Addr is host:port for TCP (the host as /proc has it, e.g.
	// 127.0.0.1 or ::), the path for a unix socket ("" when unnamed or
	// abstract).
	Addr string
	Port int
}

func (l Listener) String() string { return l.Network + " " + l.Addr }

// socketInodes returns the inodes of the sockets pid has open.
func socketInodes(pid int) (map[string]bool, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, e := range ents {
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if ino, ok := strings.CutPrefix(link, "socket:["); ok {
			out[strings.TrimSuffix(ino, "]")] = true
		}
	}
	return out, nil
}

// Listeners returns every TCP (v4 and v6) and unix socket pid listens on.
func Listeners(pid int) ([]Listener, error) {
	inodes, err := socketInodes(pid)
	if err != nil {
		return nil, err
	}
	var out []Listener
	for _, network := range []string{"tcp", "tcp6"} {
		ls, err := tcpListeners(fmt.Sprintf("/proc/%d/net/%s", pid, network), network, inodes)
		if err != nil {
			return nil, err
		}
		out = append(out, ls...)
	}
	ls, err := unixListeners(fmt.Sprintf("/proc/%d/net/unix", pid), inodes)
	if err != nil {
		return nil, err
	}
	return append(out, ls...), nil
}

// tcpListeners reads /proc/net/tcp{,6}: "sl local rem st ... uid timeout
// inode"; st 0A is LISTEN, addresses are hex host:port.
func tcpListeners(path, network string, inodes map[string]bool) ([]Listener, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Listener
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 10 || fs[3] != "0A" || !inodes[fs[9]] {
			continue
		}
		host, port, ok := strings.Cut(fs[1], ":")
		if !ok {
			continue
		}
		p, err := strconv.ParseInt(port, 16, 32)
		if err != nil {
			return nil, fmt.Errorf("%s: port %q: %w", path, port, err)
		}
		out = append(out, Listener{Network: network, Addr: fmt.Sprintf("%s:%d", hexHost(host), p), Port: int(p)})
	}
	return out, sc.Err()
}

// hexHost decodes /proc's host: 4 bytes (v4) or 16 (v6), each 32-bit word
// in host (little-endian) order.
func hexHost(h string) string {
	b := make([]byte, 0, len(h)/2)
	for i := 0; i+8 <= len(h); i += 8 {
		w, err := strconv.ParseUint(h[i:i+8], 16, 32)
		if err != nil {
			return h
		}
		b = append(b, byte(w), byte(w>>8), byte(w>>16), byte(w>>24))
	}
	if len(b) == 4 {
		return fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3])
	}
	var parts []string
	for i := 0; i+1 < len(b); i += 2 {
		parts = append(parts, strconv.FormatUint(uint64(b[i])<<8|uint64(b[i+1]), 16))
	}
	return "[" + strings.Join(parts, ":") + "]"
}

// unixListeners reads /proc/net/unix: "Num RefCount Protocol Flags Type
// St Inode Path"; flag 00010000 is __SO_ACCEPTCON (listening).
func unixListeners(path string, inodes map[string]bool) ([]Listener, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Listener
	sc := bufio.NewScanner(f)
	sc.Scan()
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 7 || !inodes[fs[6]] {
			continue
		}
		flags, err := strconv.ParseUint(fs[3], 16, 32)
		if err != nil || flags&0x10000 == 0 {
			continue
		}
		l := Listener{Network: "unix"}
		if len(fs) > 7 && !strings.HasPrefix(fs[7], "@") {
			l.Addr = fs[7]
		}
		out = append(out, l)
	}
	return out, sc.Err()
}
