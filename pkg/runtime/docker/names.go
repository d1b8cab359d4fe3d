package docker

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Labels bundle-lib put on sandbox pods; tools written for the Automation
// Broker select on them, so the containers carry them too.
const (
	LabelFQName  = "bundle-fqname"
	LabelAction  = "bundle-action"
	LabelPodName = "bundle-pod-name"
)

// Ours, the Kubernetes runtime's names: they find a container again after
// a restart. Docker labels take any value, so ids are stored as they are.
const (
	LabelManagedBy       = "app.kubernetes.io/managed-by"
	ManagedBy            = "openstack-service-broker"
	LabelBroker          = "osb.openstack.org/broker"
	LabelOperation       = "osb.openstack.org/operation"
	LabelInstance        = "osb.openstack.org/instance"
	LabelBinding         = "osb.openstack.org/binding"
	LabelTargetNamespace = "osb.openstack.org/target-namespace"
	// LabelWorkDir is the action's directory on the engine's host.
	LabelWorkDir = "osb.openstack.org/work-dir"
)

// KeptSuffix ends the name of a container kept by keep_container(_on_error):
// the janitor leaves it for the operator.
const KeptSuffix = "-kept"

// In the container.
const (
	// ResultsPath is where the results directory is mounted; APB_RESULTS_DIR
	// names it for the asb modules.
	ResultsPath = "/var/run/apb-results"
	ResultsEnv  = "APB_RESULTS_DIR"
)

// Files of the results directory (apb-base's asb_results.py).
const (
	fileCredentials   = "fields"
	fileLastOperation = "last_operation"
	fileDashboardURL  = "dashboard_url"
	fileTestResult    = "test-result"
)

// containerName is bundle-lib's sandbox name, <fqname>-<first 4 letters
// of the action>-<5 random characters> (e.g. dh-postgresql-apb-prov-x7k2q):
// `docker ps` says what runs.
func containerName(fqname, action string) string {
	act := action
	if len(act) > 4 {
		act = act[:4]
	}
	base := nameChars(fqname, 50)
	if base == "" {
		base = "bundle"
	}
	return base + "-" + act + "-" + randomSuffix(5)
}

// nameChars lowercases s and replaces what a container name should not
// hold, cut to max characters.
func nameChars(s string, max int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := b.String()
	if len(out) > max {
		out = out[:max]
	}
	return strings.Trim(out, "-._")
}

func randomSuffix(n int) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789" // as Kubernetes' generateName
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// shortHash keeps names distinct after nameChars folded them.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:8]
}
