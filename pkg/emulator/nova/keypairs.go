package nova

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"sort"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

func keypairKey(userID, name string) string { return userID + "/" + name }

func keypairNotFound(name, user string) error {
	return core.NotFound("Keypair %s not found for user %s", name, user)
}

func (k *Keypair) body(r *http.Request, show bool) map[string]any {
	v := core.MicroversionOf(r)
	b := map[string]any{"name": k.Name, "public_key": k.PublicKey, "fingerprint": k.Fingerprint}
	if v.AtLeast("2.2") {
		b["type"] = k.Type
	}
	if show {
		b["user_id"] = k.UserID
		b["created_at"] = core.FormatTime(k.CreatedAt, "2006-01-02T15:04:05.000000")
		b["deleted"], b["deleted_at"], b["updated_at"], b["id"] = false, nil, nil, k.ID
	}
	return b
}

// keypairUser is the user a keypair request is for: the caller, or
// ?user_id= (2.10+) for an admin; another user's keypairs are not the
// caller's business (403 as Nova's policy says).
func keypairUser(r *http.Request) (string, error) {
	caller := core.IdentityOf(r)
	u := r.URL.Query().Get("user_id")
	if u == "" || !core.MicroversionOf(r).AtLeast("2.10") {
		return caller.UserID, nil
	}
	if u != caller.UserID && !caller.IsAdmin() {
		return "", core.Forbidden("Policy doesn't allow os_compute_api:os-keypairs:index to be performed.")
	}
	return u, nil
}

func (n *Nova) listKeypairs(w http.ResponseWriter, r *http.Request) error {
	user, err := keypairUser(r)
	if err != nil {
		return err
	}
	v := core.MicroversionOf(r)
	page := core.Page{}
	if v.AtLeast("2.35") {
		if page, err = parsePage(r); err != nil {
			return err
		}
	}
	var list []*Keypair
	_ = n.state.View(func(s *state) error {
		for _, k := range s.Keypairs {
			if k.UserID == user {
				cp := *k
				list = append(list, &cp)
			}
		}
		return nil
	})
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	list, _, err = core.Paginate(list, func(k *Keypair) string { return k.Name }, page)
	if err != nil {
		return core.BadRequest("Marker %s could not be found.", page.Marker)
	}
	out := make([]any, 0, len(list))
	for _, k := range list {
		out = append(out, map[string]any{"keypair": k.body(r, false)})
	}
	resp := map[string]any{"keypairs": out}
	if v.AtLeast("2.35") && len(list) > 0 {
		if l := collectionLinks(r, page, len(list), list[len(list)-1].Name); l != nil {
			resp["keypairs_links"] = l
		}
	}
	core.WriteJSON(w, http.StatusOK, resp)
	return nil
}

func (n *Nova) showKeypair(w http.ResponseWriter, r *http.Request) error {
	user, err := keypairUser(r)
	if err != nil {
		return err
	}
	return n.state.View(func(s *state) error {
		k := s.Keypairs[keypairKey(user, r.PathValue("name"))]
		if k == nil {
			return keypairNotFound(r.PathValue("name"), user)
		}
		core.WriteJSON(w, http.StatusOK, map[string]any{"keypair": k.body(r, true)})
		return nil
	})
}

func (n *Nova) deleteKeypair(w http.ResponseWriter, r *http.Request) error {
	user, err := keypairUser(r)
	if err != nil {
		return err
	}
	err = n.state.Update(func(s *state) error {
		key := keypairKey(user, r.PathValue("name"))
		if s.Keypairs[key] == nil {
			return keypairNotFound(r.PathValue("name"), user)
		}
		delete(s.Keypairs, key)
		return nil
	})
	if err != nil {
		return err
	}
	if core.MicroversionOf(r).AtLeast("2.2") {
		w.WriteHeader(http.StatusNoContent)
	} else {
		w.WriteHeader(http.StatusAccepted)
	}
	return nil
}

func keypairSchema(v core.Version) *schema {
	props := map[string]*schema{"name": {Type: "string", MinLen: 1, MaxLen: 255}, "public_key": {Type: "string"}}
	if v.AtLeast("2.2") {
		props["type"] = &schema{Type: "string", Enum: []any{"ssh", "x509"}}
	}
	if v.AtLeast("2.10") {
		props["user_id"] = &schema{Type: "string"}
	}
	req := []string{"name"}
	if v.AtLeast("2.92") {
		req = []string{"name", "public_key"}
	}
	return obj([]string{"keypair"}, map[string]*schema{"keypair": obj(req, props)})
}

func (n *Nova) createKeypair(w http.ResponseWriter, r *http.Request) error {
	caller := core.IdentityOf(r)
	v := core.MicroversionOf(r)
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if err := validate(keypairSchema(v), body); err != nil {
		return err
	}
	in := body.(map[string]any)["keypair"].(map[string]any)
	name := in["name"].(string)
	safe := "_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	if v.AtLeast("2.92") {
		safe = "@._- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	}
	for _, c := range name {
		if !strings.ContainsRune(safe, c) {
			return core.BadRequest("An invalid 'name' value was provided. The name must be: Only expected characters: [%s]", safe)
		}
	}
	if strings.TrimSpace(name) != name && v.AtLeast("2.1") {
		return core.BadRequest("An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace.")
	}
	user := caller.UserID
	if u, ok := in["user_id"].(string); ok && u != caller.UserID {
		if !caller.IsAdmin() {
			return core.Forbidden("Policy doesn't allow os_compute_api:os-keypairs:create to be performed.")
		}
		user = u
	}
	kp := &Keypair{Name: name, UserID: user, Type: "ssh", CreatedAt: n.env.Now()}
	if t, ok := in["type"].(string); ok {
		kp.Type = t
	}
	var private string
	if pub, ok := in["public_key"].(string); ok {
		kp.PublicKey = pub
		fp, err := fingerprint(pub, kp.Type)
		if err != nil {
			return err
		}
		kp.Fingerprint = fp
	} else {
		if kp.Type == "x509" {
			return core.BadRequest("Keypair data is invalid: x509 keypairs cannot be generated.")
		}
		// Fail fast on duplicates and quota before spending on a key.
		if err := n.state.View(func(s *state) error { return s.checkNewKeypair(kp) }); err != nil {
			return err
		}
		pub, priv, err := generateKey()
		if err != nil {
			return err
		}
		kp.PublicKey, private = pub, priv
		kp.Fingerprint, _ = fingerprint(pub, "ssh")
	}
	err = n.state.Update(func(s *state) error {
		if err := s.checkNewKeypair(kp); err != nil {
			return err
		}
		s.Serial++
		kp.ID = s.Serial
		s.Keypairs[keypairKey(user, name)] = kp
		return nil
	})
	if err != nil {
		return err
	}
	b := map[string]any{"name": kp.Name, "public_key": kp.PublicKey, "fingerprint": kp.Fingerprint, "user_id": kp.UserID}
	if v.AtLeast("2.2") {
		b["type"] = kp.Type
	}
	if private != "" {
		b["private_key"] = private
	}
	status := http.StatusOK
	if v.AtLeast("2.2") {
		status = http.StatusCreated
	}
	core.WriteJSON(w, status, map[string]any{"keypair": b})
	return nil
}

func (s *state) checkNewKeypair(kp *Keypair) error {
	if s.Keypairs[keypairKey(kp.UserID, kp.Name)] != nil {
		return core.Conflict("Key pair '%s' already exists.", kp.Name)
	}
	used := 0
	for _, k := range s.Keypairs {
		if k.UserID == kp.UserID {
			used++
		}
	}
	// key_pairs is a per-user quota in Nova; the emulator reads the
	// default (or the one set on the project "user:<id>").
	if !s.Quotas.Allows("user:"+kp.UserID, "key_pairs", used, 1) {
		return core.Forbidden("Quota exceeded, too many key pairs.")
	}
	return nil
}

// fingerprint is Nova's: the MD5 of an SSH key's blob, or the SHA-1 of
// an x509 certificate, as colon-separated hex. Bad data is a 400.
func fingerprint(pub, typ string) (string, error) {
	invalid := core.BadRequest("Keypair data is invalid: failed to generate fingerprint")
	if typ == "x509" {
		blk, _ := pem.Decode([]byte(pub))
		if blk == nil {
			return "", invalid
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return "", invalid
		}
		sum := sha1.Sum(cert.Raw)
		return colonHex(sum[:]), nil
	}
	blob, err := parseSSHPublicKey(pub)
	if err != nil {
		return "", invalid
	}
	sum := md5.Sum(blob)
	return colonHex(sum[:]), nil
}

func colonHex(b []byte) string {
	h := hex.EncodeToString(b)
	parts := make([]string, 0, len(b))
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// parseSSHPublicKey checks an authorized_keys line ("type base64 [comment]")
// the way cryptography's load_ssh_public_key does, for the key types it
// knows, and returns the decoded blob.
func parseSSHPublicKey(line string) ([]byte, error) {
	fields := strings.Fields(line)
	if len(fields) < 2 {
		return nil, fmt.Errorf("not an ssh public key")
	}
	blob, err := base64.StdEncoding.DecodeString(fields[1])
	if err != nil {
		return nil, err
	}
	rest := blob
	typ, rest, ok := sshString(rest)
	if !ok || string(typ) != fields[0] {
		return nil, fmt.Errorf("key type mismatch")
	}
	var nfields int
	switch fields[0] {
	case "ssh-rsa":
		nfields = 2
	case "ssh-dss":
		nfields = 4
	case "ssh-ed25519":
		k, rest2, ok := sshString(rest)
		if !ok || len(k) != 32 || len(rest2) != 0 {
			return nil, fmt.Errorf("bad ed25519 key")
		}
		return blob, nil
	case "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521":
		nfields = 2
	default:
		return nil, fmt.Errorf("unsupported key type %s", fields[0])
	}
	for i := 0; i < nfields; i++ {
		var f []byte
		if f, rest, ok = sshString(rest); !ok || len(f) == 0 {
			return nil, fmt.Errorf("truncated key")
		}
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("trailing data")
	}
	return blob, nil
}

func sshString(b []byte) ([]byte, []byte, bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(len(b)-4) < uint64(n) {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}

func putSSHString(buf *bytes.Buffer, b []byte) {
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(b)))
	buf.Write(l[:])
	buf.Write(b)
}

// mpint is SSH's multiple-precision integer encoding (positive values).
func mpint(n *big.Int) []byte {
	b := n.Bytes()
	if len(b) > 0 && b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return b
}

// generateKey makes an RSA 2048 key pair as Nova did before 2.92: the
// private key in PEM (PKCS#1, what ssh and ssh-keygen read) and the public
// key as an authorized_keys line.
func generateKey() (string, string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", fmt.Errorf("generating a key pair: %w", err)
	}
	var buf bytes.Buffer
	putSSHString(&buf, []byte("ssh-rsa"))
	putSSHString(&buf, mpint(big.NewInt(int64(key.E))))
	putSSHString(&buf, mpint(key.N))
	pub := "ssh-rsa " + base64.StdEncoding.EncodeToString(buf.Bytes()) + " Generated-by-Nova"
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return pub, string(priv), nil
}
