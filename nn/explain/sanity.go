package explain

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"gonum.org/v1/gonum/integrate"
	"gonum.org/v1/gonum/stat"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn"
)

// Layers returns the names of the layers of ps (as nn.LayerOf groups
// them) from the output back to the input: the order in which Adebayo et
// al.'s cascading randomisation test destroys a model's weights.
func Layers(ps []nn.Param) []string {
	var names []string
	for _, p := range ps {
		if l := nn.LayerOf(p.Name); !slices.Contains(names, l) {
			names = append(names, l)
		}
	}
	slices.Reverse(names)
	return names
}

// Randomized returns parameter values for model.Apply in which every
// parameter of the named layers is replaced by independent Gaussian draws
// from rng with mean 0 and the standard deviation of the trained tensor
// (so activations keep their scale and only the learnt structure is
// lost), and every other parameter keeps its value. The model is not
// changed.
func Randomized(ps []nn.Param, layers []string, rng *rand.Rand) []*adjoint.Var {
	out := make([]*adjoint.Var, len(ps))
	for i, p := range ps {
		if !slices.Contains(layers, nn.LayerOf(p.Name)) {
			out[i] = adjoint.Const(p.Value())
			continue
		}
		v := p.Value()
		sd := stat.PopStdDev(v.Data, nil)
		if sd == 0 || math.IsNaN(sd) {
			sd = 1 / math.Sqrt(float64(v.Size()))
		}
		r := adjoint.New(v.Shape...)
		for j := range r.Data {
			r.Data[j] = sd * rng.NormFloat64()
		}
		out[i] = adjoint.Const(r)
	}
	return out
}

// Spearman returns Spearman's rank correlation of a and b: the Pearson
// correlation of their ranks, tied values sharing their mean rank. It is
// the similarity Adebayo et al. use between a model's attribution maps
// and those of its randomised versions. It panics if the lengths differ;
// a constant input gives NaN.
func Spearman(a, b []float64) float64 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("explain: Spearman of %d and %d values", len(a), len(b)))
	}
	return stat.Correlation(ranks(a), ranks(b), nil)
}

// ranks returns the rank (from 1) of each value of v, ties averaged.
func ranks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return v[idx[i]] < v[idx[j]] })
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && v[idx[j+1]] == v[idx[i]] {
			j++
		}
		mean := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = mean
		}
		i = j + 1
	}
	return r
}

// Order returns the indices of attr from the largest value to the
// smallest (ties in index order): the order in which deletion and
// insertion curves remove or add input elements, most positively
// attributed first.
func Order(attr []float64) []int {
	idx := make([]int, len(attr))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return attr[idx[i]] > attr[idx[j]] })
	return idx
}

// CurveSettings configures DeletionCurve and InsertionCurve. A nil
// *CurveSettings means the defaults described on each field.
type CurveSettings struct {
	// Steps is the number of increments in which the elements are
	// removed or inserted; the curve has Steps+1 points. Zero means 50.
	Steps int
	// Fill is the value of a removed element, and of every element of the
	// start of an insertion curve; the zero value is black.
	Fill float64
}

// DeletionCurve returns the deletion curve of one input x ([1, ...]) in
// the given order of its elements (Petsiuk et al. 2018): the fraction of
// elements set to Fill, 0 to 1 in Steps increments, and f's score after
// each. A faithful attribution's order makes the score fall fast: a small
// area under the curve.
func DeletionCurve(f Score, x *adjoint.Tensor, order []int, s *CurveSettings) (frac, score []float64) {
	return curve("DeletionCurve", f, x, order, s, false)
}

// InsertionCurve returns the insertion curve of one input x ([1, ...]):
// starting from an input of Fill everywhere, the elements of x are put
// back in the given order, 0 to 1 in Steps increments, with f's score
// after each. A faithful order makes the score rise fast: a large area
// under the curve.
func InsertionCurve(f Score, x *adjoint.Tensor, order []int, s *CurveSettings) (frac, score []float64) {
	return curve("InsertionCurve", f, x, order, s, true)
}

func curve(who string, f Score, x *adjoint.Tensor, order []int, s *CurveSettings, insert bool) (frac, score []float64) {
	var set CurveSettings
	if s != nil {
		set = *s
	}
	if set.Steps == 0 {
		set.Steps = 50
	}
	b, n := rows(who, x)
	if b != 1 || len(order) != n {
		panic(fmt.Sprintf("explain: %s: input of shape %v and an order of %d elements; want one input and all its elements", who, x.Shape, len(order)))
	}
	imgs := make([][]float64, set.Steps+1)
	frac = make([]float64, set.Steps+1)
	for k := range imgs {
		m := int(math.Round(float64(k) * float64(n) / float64(set.Steps)))
		frac[k] = float64(m) / float64(n)
		img := make([]float64, n)
		if insert {
			for j := range img {
				img[j] = set.Fill
			}
			for _, j := range order[:m] {
				img[j] = x.Data[j]
			}
		} else {
			copy(img, x.Data)
			for _, j := range order[:m] {
				img[j] = set.Fill
			}
		}
		imgs[k] = img
	}
	return frac, scores(f, stackRows(imgs, x))
}

// AUC returns the area under the curve (frac, score) by the trapezoid
// rule (gonum's integrate.Trapezoidal).
func AUC(frac, score []float64) float64 { return integrate.Trapezoidal(frac, score) }
