package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSelfSigned(t *testing.T) {
	cert, err := SelfSigned([]string{"broker.example", "10.1.2.3", "", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	leaf := cert.Leaf
	if !slices.Equal(leaf.DNSNames, []string{"localhost", "broker.example"}) {
		t.Errorf("DNS names %v", leaf.DNSNames)
	}
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	if !slices.Equal(ips, []string{"127.0.0.1", "10.1.2.3"}) {
		t.Errorf("IP addresses %v", ips)
	}
	key, ok := cert.PrivateKey.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		t.Errorf("key %T, want ECDSA P-256", cert.PrivateKey)
	}
	if d := leaf.NotAfter.Sub(time.Now()); d < 364*24*time.Hour || d > 366*24*time.Hour {
		t.Errorf("valid for %v, want a year", d)
	}
	if leaf.NotBefore.After(time.Now()) {
		t.Errorf("not valid yet: %v", leaf.NotBefore)
	}
}

// A client trusting the certificate completes a handshake for each SAN and
// refuses a name that is not in it.
func TestSelfSignedHandshake(t *testing.T) {
	cert, err := SelfSigned([]string{"broker.example"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for i := 0; i < 4; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.(*tls.Conn).Handshake()
			io.WriteString(c, "ok")
			c.Close()
		}
	}()
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	for _, tt := range []struct {
		name string
		ok   bool
	}{{"localhost", true}, {"127.0.0.1", true}, {"broker.example", true}, {"other.example", false}} {
		d := &net.Dialer{Timeout: 5 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: tt.name})
		if err == nil {
			c.Close()
		}
		if (err == nil) != tt.ok {
			t.Errorf("%s: handshake error %v, want success %v", tt.name, err, tt.ok)
		}
	}
}

func writePEM(t *testing.T, dir string, cert tls.Certificate) (string, string) {
	t.Helper()
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	orig, err := SelfSigned(nil)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := writePEM(t, dir, orig)
	got, err := Load(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Leaf.Equal(orig.Leaf) {
		t.Error("loaded certificate differs")
	}

	other, err := SelfSigned(nil)
	if err != nil {
		t.Fatal(err)
	}
	otherDir := t.TempDir()
	_, otherKey := writePEM(t, otherDir, other)
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.crt")

	tests := []struct {
		name, cert, key string
		notExist        bool
	}{
		{"missing cert", missing, keyFile, true},
		{"missing key", certFile, filepath.Join(dir, "missing.key"), true},
		{"key of another cert", certFile, otherKey, false},
		{"not PEM", garbage, keyFile, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.cert, tt.key)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.cert) || !strings.Contains(err.Error(), tt.key) {
				t.Errorf("error does not name both files: %v", err)
			}
			if errors.Is(err, fs.ErrNotExist) != tt.notExist {
				t.Errorf("errors.Is(err, fs.ErrNotExist) = %v: %v", !tt.notExist, err)
			}
		})
	}
}

func rsaCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// handshake runs a client with cfg against ServerConfig(cert) in memory.
func handshake(cert tls.Certificate, cfg *tls.Config) (tls.ConnectionState, error) {
	c, s := net.Pipe()
	defer c.Close()
	defer s.Close()
	srv := tls.Server(s, ServerConfig(cert))
	go func() {
		srv.Handshake()
		s.Close()
	}()
	cfg.InsecureSkipVerify = true
	cl := tls.Client(c, cfg)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	err := cl.Handshake()
	return cl.ConnectionState(), err
}

// TestServerConfigAEADOnly: clients that offer only CBC suites, RSA key
// exchange or TLS 1.1 are refused, with ECDSA and RSA certificates alike.
func TestServerConfigAEADOnly(t *testing.T) {
	ecdsaCert, err := SelfSigned(nil)
	if err != nil {
		t.Fatal(err)
	}
	var insecure []uint16
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if !slices.Contains(aeadSuites, s.ID) && slices.Contains(s.SupportedVersions, tls.VersionTLS12) {
			insecure = append(insecure, s.ID)
		}
	}
	for _, cert := range []struct {
		name string
		c    tls.Certificate
	}{{"ECDSA", ecdsaCert}, {"RSA", rsaCert(t)}} {
		for _, s := range insecure {
			t.Run(cert.name+" "+tls.CipherSuiteName(s), func(t *testing.T) {
				if st, err := handshake(cert.c, &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{s}}); err == nil {
					t.Errorf("handshake succeeded with %s", tls.CipherSuiteName(st.CipherSuite))
				}
			})
		}
		t.Run(cert.name+" TLS 1.1", func(t *testing.T) {
			if _, err := handshake(cert.c, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}); err == nil {
				t.Errorf("TLS 1.1 accepted")
			}
		})
		t.Run(cert.name+" TLS 1.2 defaults", func(t *testing.T) {
			st, err := handshake(cert.c, &tls.Config{MaxVersion: tls.VersionTLS12})
			if err != nil || !slices.Contains(aeadSuites, st.CipherSuite) {
				t.Errorf("handshake %v with %s", err, tls.CipherSuiteName(st.CipherSuite))
			}
		})
		t.Run(cert.name+" TLS 1.3", func(t *testing.T) {
			if st, err := handshake(cert.c, &tls.Config{}); err != nil || st.Version != tls.VersionTLS13 {
				t.Errorf("handshake %v, version %x", err, st.Version)
			}
		})
	}
	if len(insecure) < 8 {
		t.Errorf("only %d suites tried: %v", len(insecure), insecure)
	}
}
