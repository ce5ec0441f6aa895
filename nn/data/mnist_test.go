package data

import (
	"bufio"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// readFacts reads testdata/mnist_facts.txt: name → numbers.
func readFacts(t *testing.T) map[string][]int {
	t.Helper()
	f, err := os.Open("testdata/mnist_facts.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	facts := map[string][]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		for _, s := range fields[1:] {
			v, err := strconv.Atoi(s)
			if err != nil {
				t.Fatal(err)
			}
			facts[fields[0]] = append(facts[fields[0]], v)
		}
	}
	return facts
}

// TestMNISTReal loads the real files from the module cache and compares
// them with facts counted independently (testdata/mnist_facts.py).
func TestMNISTReal(t *testing.T) {
	dir, err := MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	train, test, err := MNIST("")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MNIST found in %s", dir)
	facts := readFacts(t)
	for _, c := range []struct {
		name  string
		set   *Set
		n     int
		first int
	}{{"train", train, 60000, 0}, {"test", test, 10000, 1}} {
		s := c.set
		if s.N != c.n || s.Rows != 28 || s.Cols != 28 || s.Classes != 10 {
			t.Fatalf("%s: %d images of %d×%d, %d classes", c.name, s.N, s.Rows, s.Cols, s.Classes)
		}
		counts := make([]int, 10)
		for _, l := range s.Labels {
			counts[l]++
		}
		if !slices.Equal(counts, facts[c.name]) {
			t.Errorf("%s: images per class %v, want %v", c.name, counts, facts[c.name])
		}
		if int(s.Labels[0]) != facts["first"][c.first] {
			t.Errorf("%s: first label %d, want %d", c.name, s.Labels[0], facts["first"][c.first])
		}
		sum := 0
		for _, v := range s.Pixels[:784] {
			sum += int(v)
		}
		if sum != facts["inksum"][c.first] {
			t.Errorf("%s: first image's pixel sum %d, want %d", c.name, sum, facts["inksum"][c.first])
		}
		x, _ := s.Batch([]int{0})
		if x.Data[0] != 0 || slices.Max(x.Data) != 1 {
			t.Errorf("%s: first image's pixels span [%v, %v], want a background of 0 and full ink 1", c.name, slices.Min(x.Data), slices.Max(x.Data))
		}
	}
}

func TestMNISTDirCandidates(t *testing.T) {
	c := mnistCandidates()
	if len(c) == 0 {
		t.Fatal("no candidate folders")
	}
	for _, d := range c {
		if !strings.Contains(d, "@") || !strings.HasSuffix(d, "data") {
			t.Errorf("candidate %q is not a module folder's data/", d)
		}
	}
	t.Logf("candidates: %v", c)
}
