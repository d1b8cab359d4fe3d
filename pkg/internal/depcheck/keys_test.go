package depcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// storeKeyPrefixes are the Automation Broker's etcd key prefixes.
var storeKeyPrefixes = []string{`"/state/`, `"/service_instance/`, `"/bind_instance/`, `"/extracted_credentials/`, `"/spec/`}

// TestStoreKeysOnlyInStore: keys are made by pkg/store alone (JobKey,
// the Put/Delete ops), so that escaping ids or moving to another store
// is one package's change. No other Go file spells a key prefix.
func TestStoreKeysOnlyInStore(t *testing.T) {
	root := moduleRoot(t)
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && p != root || rel == "pkg/store" {
				return filepath.SkipDir
			}
			return nil
		}
		// test/kube/migrate_test.go writes an Automation Broker's etcd as
		// the original did, byte for byte: its keys are the fixture.
		if !strings.HasSuffix(p, ".go") || rel == "pkg/internal/depcheck/keys_test.go" || rel == "test/kube/migrate_test.go" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, k := range storeKeyPrefixes {
			if strings.Contains(string(data), k) {
				t.Errorf("%s spells the store key prefix %s`: use pkg/store's key functions", rel, k)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
