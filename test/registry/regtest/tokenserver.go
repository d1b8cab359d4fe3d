package regtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"
)

// TokenServer issues registry Bearer tokens per the distribution token
// spec (docs/spec/auth/token.md, jwt.md): GET ?service=&scope= with basic
// auth, answering {"token", "access_token", "expires_in"}; the JWT is ES256
// with the signing certificate in x5c, which docker-registry checks against
// its rootcertbundle.
type TokenServer struct {
	Issuer, Service string
	User, Pass      string
	key             *ecdsa.PrivateKey
	certDER         []byte
}

// NewTokenServer makes a signing key and a self-signed certificate.
func NewTokenServer(issuer, service, user, pass string) (*TokenServer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: issuer},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &TokenServer{Issuer: issuer, Service: service, User: user, Pass: pass, key: key, certDER: der}, nil
}

// CertPEM is the rootcertbundle for docker-registry.
func (ts *TokenServer) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.certDER})
}

type access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// ServeHTTP grants every requested action to the configured user and
// nothing to anyone else (401).
func (ts *TokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u, p, ok := r.BasicAuth()
	if !ok || u != ts.User || p != ts.Pass {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}`, http.StatusUnauthorized)
		return
	}
	if r.URL.Query().Get("service") != ts.Service {
		http.Error(w, "unknown service", http.StatusBadRequest)
		return
	}
	var grants []access
	for _, sc := range r.URL.Query()["scope"] {
		// type:name:actions; the name may hold a port colon, so split at
		// the first and last colon.
		first, last := strings.Index(sc, ":"), strings.LastIndex(sc, ":")
		if first < 0 || first == last {
			continue
		}
		grants = append(grants, access{Type: sc[:first], Name: sc[first+1 : last], Actions: strings.Split(sc[last+1:], ",")})
	}
	tok, err := ts.sign(u, grants)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"token": tok, "access_token": tok, "expires_in": 300, "issued_at": time.Now().UTC().Format(time.RFC3339)})
}

func (ts *TokenServer) sign(sub string, grants []access) (string, error) {
	enc := base64.RawURLEncoding
	header, err := json.Marshal(map[string]any{"typ": "JWT", "alg": "ES256", "x5c": []string{base64.StdEncoding.EncodeToString(ts.certDER)}})
	if err != nil {
		return "", err
	}
	now := time.Now()
	jti := make([]byte, 12)
	rand.Read(jti)
	claims, err := json.Marshal(map[string]any{
		"iss": ts.Issuer, "sub": sub, "aud": ts.Service,
		"exp": now.Add(5 * time.Minute).Unix(), "nbf": now.Add(-time.Minute).Unix(), "iat": now.Unix(),
		"jti": enc.EncodeToString(jti), "access": grants,
	})
	if err != nil {
		return "", err
	}
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	rr, ss, err := ecdsa.Sign(rand.Reader, ts.key, sum[:])
	if err != nil {
		return "", fmt.Errorf("signing: %w", err)
	}
	sig := make([]byte, 64)
	rr.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	return signing + "." + enc.EncodeToString(sig), nil
}
