package apb

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ErrNoSpecLabel means an image carries no com.redhat.apb.spec label: it is
// not a bundle, and discovery skips it.
var ErrNoSpecLabel = errors.New("image has no " + LabelSpec + " label")

// EncodeLabel returns the com.redhat.apb.spec label value for an apb.yml:
// standard padded base64 of the whole file.
func EncodeLabel(apbYML []byte) string {
	return base64.StdEncoding.EncodeToString(apbYML)
}

// DecodeLabel reverses EncodeLabel. Whitespace inside the value is ignored
// because `apb prepare` splits the label over continuation lines and some
// tools keep the line breaks.
func DecodeLabel(label string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '\v', '\f':
			return -1
		}
		return r
	}, label)
	if clean == "" {
		return nil, errors.New("decoding " + LabelSpec + ": empty value")
	}
	enc := base64.StdEncoding
	if len(clean)%4 != 0 {
		enc = base64.RawStdEncoding
		clean = strings.TrimRight(clean, "=")
	}
	b, err := enc.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", LabelSpec, err)
	}
	return b, nil
}

// Runtime versions a bundle may declare.
const (
	MinRuntime = 1
	MaxRuntime = 2
)

// SpecFromLabels reads a spec from image labels: the decoded, parsed and
// validated spec label plus the runtime label (com.redhat.bundle.runtime
// wins over com.redhat.apb.runtime; neither means runtime 1).
func SpecFromLabels(labels map[string]string, source string) (*Spec, error) {
	enc, ok := labels[LabelSpec]
	if !ok || strings.TrimSpace(enc) == "" {
		return nil, fmt.Errorf("bundle %q: %w", source, ErrNoSpecLabel)
	}
	runtime := MinRuntime
	for _, key := range []string{LabelBundleRuntime, LabelRuntime} {
		v, ok := labels[key]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("bundle %q: label %s: %q is not an integer", source, key, v)
		}
		if n < MinRuntime || n > MaxRuntime {
			return nil, fmt.Errorf("bundle %q: label %s: runtime %d not in %d..%d", source, key, n, MinRuntime, MaxRuntime)
		}
		runtime = n
		break
	}
	data, err := DecodeLabel(enc)
	if err != nil {
		return nil, fmt.Errorf("bundle %q: %w", source, err)
	}
	s, err := Parse(data, source)
	if err != nil {
		return nil, err
	}
	s.Runtime = runtime
	return s, nil
}

var fqNameSep = regexp.MustCompile(`[/.:-]`)

// FQName is the catalog name of a bundle exactly as the Automation Broker
// built it (addNameAndIDForSpec), so IDs of existing instances still match:
// "<registry>-<name>" with / . : - turned into -, cut to 51 characters,
// then one trailing dash dropped.
func FQName(registry, name string) string {
	fq := fqNameSep.ReplaceAllLiteralString(registry+"-"+name, "-")
	fq = fmt.Sprintf("%.51v", fq)
	return strings.TrimSuffix(fq, "-")
}

// ServiceID is the OSB service id of a bundle: md5 hex of its FQName.
func ServiceID(fq string) string { return md5hex(fq) }

// PlanID is the OSB plan id: md5 hex of "<FQName>-<plan name>".
func PlanID(fq, plan string) string { return md5hex(fq + "-" + plan) }

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Finish gives a parsed spec its broker identity: catalog name, ids, the
// registry it came from and the image that runs it.
func (s *Spec) Finish(registry, image string) {
	s.FQName = FQName(registry, s.Name)
	s.ID = ServiceID(s.FQName)
	for i := range s.Plans {
		s.Plans[i].ID = PlanID(s.FQName, s.Plans[i].Name)
	}
	s.Registry = registry
	s.Image = image
}
