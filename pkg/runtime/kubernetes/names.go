package kubernetes

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Labels bundle-lib put on sandbox pods; tools written for the Automation
// Broker select on them.
const (
	LabelFQName  = "bundle-fqname"
	LabelAction  = "bundle-action"
	LabelPodName = "bundle-pod-name"
)

// Ours: they find a sandbox again after a restart.
const (
	LabelManagedBy    = "app.kubernetes.io/managed-by"
	ManagedBy         = "openstack-service-broker"
	LabelOperation    = "osb.openstack.org/operation"
	LabelInstance     = "osb.openstack.org/instance"
	LabelCopiedSecret = "osb.openstack.org/copied-secret"
	// LabelBroker is Config.BrokerID: whose sandbox it is.
	LabelBroker = "osb.openstack.org/broker"

	AnnotationOperation       = "osb.openstack.org/operation"
	AnnotationTargetNamespace = "osb.openstack.org/target-namespace"
	AnnotationSandbox         = "osb.openstack.org/sandbox"
	// AnnotationKept marks a sandbox kept by keep_namespace(_on_error): the
	// janitor leaves it for the operator.
	AnnotationKept = "osb.openstack.org/kept"

	// Pod annotations bundles set through the asb modules.
	AnnotationLastOperation = "apb_last_operation"
	AnnotationDashboardURL  = "apb_dashboard_url"
)

// containerName is bundle-lib's name of the bundle's container.
const containerName = "apb"

// newUUID returns a random version 4 UUID (bundle-lib's pod names are
// bundle-<uuid>).
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// labelValue makes s a valid label value: unchanged when it already is,
// otherwise a hash, so that equal inputs still select equal objects.
func labelValue(s string) string {
	if len(validation.IsValidLabelValue(s)) == 0 {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "h-" + hex.EncodeToString(sum[:])[:40]
}

// dnsLabel lowercases s and replaces what a DNS-1123 label may not hold,
// cut to max characters.
func dnsLabel(s string, max int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := b.String()
	if len(out) > max {
		out = out[:max]
	}
	return strings.Trim(out, "-")
}

// sandboxPrefix is bundle-lib's namespace generateName:
// <fqname>-<first 4 letters of the action>- (e.g. dh-postgresql-apb-prov-).
func sandboxPrefix(fqname, action string) string {
	act := action
	if len(act) > 4 {
		act = act[:4]
	}
	// 63 minus the 5 random characters generateName appends.
	base := dnsLabel(fqname, 58-len(act)-2)
	if base == "" {
		base = "bundle"
	}
	return base + "-" + act + "-"
}

// volumeName is the volume for a mounted Secret: apb-<secret>.
func volumeName(secret string) string {
	v := dnsLabel("apb-"+secret, 63)
	if v != "apb-"+secret {
		// Keep distinct secrets distinct after sanitizing.
		sum := sha256.Sum256([]byte(secret))
		v = dnsLabel("apb-"+secret, 50) + "-" + hex.EncodeToString(sum[:])[:8]
	}
	return v
}
