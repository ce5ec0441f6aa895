package kernel_test

import (
	"fmt"

	"github.com/adjointkit/adjointkit/internal/kernel"
)

// Gemm follows BLAS dgemm on row-major matrices: here C = 2·Aᵀ·B + C.
func ExampleGemm() {
	a := []float64{ // 3×2, used transposed
		1, 4,
		2, 5,
		3, 6,
	}
	b := []float64{ // 3×2
		1, 0,
		0, 1,
		1, 1,
	}
	c := []float64{100, 100, 100, 100}
	kernel.Gemm(true, false, 2, 2, 3, 2, a, 2, b, 2, 1, c, 2)
	fmt.Println(c)
	// Output: [108 110 120 122]
}

// A 3×3 image convolved with a 2×2 kernel of ones sums each window.
func ExampleConv2D() {
	g := &kernel.Conv2D{N: 1, C: 1, H: 3, W: 3, O: 1, KH: 2, KW: 2, SH: 1, SW: 1, DH: 1, DW: 1}
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}
	w := []float64{1, 1, 1, 1}
	y := make([]float64, g.OutH()*g.OutW())
	g.Forward(y, x, w)
	fmt.Println(y)
	// Output: [12 16 24 28]
}
