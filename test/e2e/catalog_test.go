package e2e

import (
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/test/bundlegen"
)

func TestCatalogOfThousandBundles(t *testing.T) {
	gen := t.TempDir()
	if err := bundlegen.WriteDir(gen, bundlegen.Generate(1000, 1)); err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, options{genDir: gen})
	want := 1000 + len(bundles)
	if len(b.cat.Services) != want {
		t.Fatalf("catalog has %d services, want %d", len(b.cat.Services), want)
	}
	gens := 0
	for _, s := range b.cat.Services {
		if len(s.Name) > 4 && s.Name[:4] == "gen-" {
			gens++
		}
	}
	if gens != 1000 {
		t.Fatalf("%d generated services in the catalog, want 1000", gens)
	}
	// IDs are stable: a second fetch is identical.
	again, err := b.client.Catalog(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := range again.Services {
		if again.Services[i].ID != b.cat.Services[i].ID {
			t.Fatalf("service %d changed id between fetches", i)
		}
	}
}
