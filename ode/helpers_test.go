package ode

import (
	"bufio"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

// readReference reads lines of "name … v1 v2 …", skipping blank lines and
// comments: the leading words that are not numbers, joined by single
// spaces, name the values that follow.
func readReference(t testing.TB, file string) map[string][]float64 {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ref := map[string][]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var name []string
		var vals []float64
		for _, w := range strings.Fields(line) {
			v, err := strconv.ParseFloat(w, 64)
			if err != nil && vals == nil {
				name = append(name, w)
				continue
			}
			if err != nil {
				t.Fatalf("%s: %q is not a number", file, w)
			}
			vals = append(vals, v)
		}
		ref[strings.Join(name, " ")] = vals
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ref
}

// elemRel returns max |gotᵢ − wantᵢ| / |wantᵢ|, the strictest measure.
func elemRel(got, want []float64) float64 {
	var m float64
	for i := range want {
		m = math.Max(m, math.Abs(got[i]-want[i])/math.Abs(want[i]))
	}
	return m
}

// relErr is max|gotᵢ − wantᵢ| / max|wantᵢ| (max|gotᵢ − wantᵢ| when want is
// all zeros).
func relErr(got, want []float64) float64 {
	var num, den float64
	for i := range want {
		num = math.Max(num, math.Abs(got[i]-want[i]))
		den = math.Max(den, math.Abs(want[i]))
	}
	if den == 0 {
		return num
	}
	return num / den
}

func randVec(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}
