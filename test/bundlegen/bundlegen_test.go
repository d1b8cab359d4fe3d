package bundlegen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

func TestGenerateParsesAndConverts(t *testing.T) {
	for _, tc := range []struct {
		n    int
		seed int64
	}{{1, 1}, {50, 7}, {1000, 42}} {
		docs := Generate(tc.n, tc.seed)
		if len(docs) != tc.n {
			t.Fatalf("Generate(%d) returned %d documents", tc.n, len(docs))
		}
		names := map[string]bool{}
		plans := map[int]int{}
		types := map[string]int{}
		for i, d := range docs {
			s, err := apb.Parse(d, "gen")
			if err != nil {
				t.Fatalf("seed %d doc %d: %v\n%s", tc.seed, i, err, d)
			}
			if want := Name(i); s.Name != want {
				t.Fatalf("doc %d is named %q, want %q", i, s.Name, want)
			}
			if names[s.Name] {
				t.Fatalf("duplicate name %q", s.Name)
			}
			names[s.Name] = true
			if len(s.Plans) < 1 || len(s.Plans) > 3 {
				t.Fatalf("doc %d has %d plans", i, len(s.Plans))
			}
			plans[len(s.Plans)]++
			for _, p := range s.Plans {
				for _, prm := range p.Parameters {
					types[prm.Type]++
				}
			}
			s.Finish("gen", "example.invalid/"+s.Name)
			if _, err := apb.ToService(s, apb.ConvertOptions{}); err != nil {
				t.Fatalf("doc %d: %v", i, err)
			}
		}
		if tc.n >= 50 && (len(plans) != 3 || len(types) < 8) {
			t.Errorf("n=%d: poor mix: plans %v, types %v", tc.n, plans, types)
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a, b, c := Generate(20, 3), Generate(20, 3), Generate(20, 4)
	same := true
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("doc %d differs for the same seed", i)
		}
		same = same && bytes.Equal(a[i], c[i])
	}
	if same {
		t.Error("different seeds produced the same documents")
	}
}

func TestWriteDir(t *testing.T) {
	dir := t.TempDir()
	docs := Generate(5, 9)
	if err := WriteDir(dir, docs); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		s, err := apb.Parse(d, "gen")
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, s.Name, "apb.yml"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, d) {
			t.Errorf("%s: file content differs", s.Name)
		}
	}
	if err := WriteDir(dir, [][]byte{[]byte("version: '1.0'\n")}); err == nil {
		t.Error("WriteDir accepted a document without a name")
	}
}
