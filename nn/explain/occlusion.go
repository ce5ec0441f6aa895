package explain

import (
	"fmt"

	"github.com/adjointkit/adjointkit/adjoint"
)

// OcclusionSettings configures Occlusion. A nil *OcclusionSettings means
// the defaults described on each field.
type OcclusionSettings struct {
	// Window is the side of the square patch covered at a time, in
	// pixels; zero means 4.
	Window int
	// Stride is the step between patches; zero means 2.
	Stride int
	// Fill is the value the covered pixels take; the zero value is black.
	Fill float64
	// BatchSize is the most occluded copies evaluated in one pass; zero
	// means 128.
	BatchSize int
}

// Occlusion returns the occlusion attribution of f for each image of the
// batch x, [B, C, H, W] (Zeiler and Fergus 2014), as Captum computes it:
// a Window × Window patch of every channel is set to Fill at positions
// Stride apart (the last flush with the border), and each pixel receives
// the mean, over the patches covering it, of the drop f(x) − f(x with
// the patch covered). It uses no gradient, so it is a reference that
// owes nothing to the backward pass.
func Occlusion(f Score, x *adjoint.Tensor, s *OcclusionSettings) *adjoint.Tensor {
	var set OcclusionSettings
	if s != nil {
		set = *s
	}
	if set.Window == 0 {
		set.Window = 4
	}
	if set.Stride == 0 {
		set.Stride = 2
	}
	if set.BatchSize == 0 {
		set.BatchSize = 128
	}
	if x.Rank() != 4 {
		panic(fmt.Sprintf("explain: Occlusion: input of shape %v; want images [B, C, H, W]", x.Shape))
	}
	b, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	if set.Window > h || set.Window > w || set.Window < 1 || set.Stride < 1 {
		panic(fmt.Sprintf("explain: Occlusion: window %d, stride %d on %d×%d images", set.Window, set.Stride, h, w))
	}
	starts := func(n int) []int {
		var s []int
		for p := 0; p+set.Window <= n; p += set.Stride {
			s = append(s, p)
		}
		if last := n - set.Window; s[len(s)-1] != last {
			s = append(s, last)
		}
		return s
	}
	ys, xs := starts(h), starts(w)
	n := c * h * w
	out := adjoint.New(x.Shape...)
	count := make([]float64, h*w)
	for _, y0 := range ys {
		for _, x0 := range xs {
			for i := y0; i < y0+set.Window; i++ {
				for j := x0; j < x0+set.Window; j++ {
					count[i*w+j]++
				}
			}
		}
	}
	type patch struct{ y0, x0 int }
	var patches []patch
	for _, y0 := range ys {
		for _, x0 := range xs {
			patches = append(patches, patch{y0, x0})
		}
	}
	for r := range b {
		row := x.Data[r*n : (r+1)*n]
		full := scores(f, adjoint.FromData(append([]float64(nil), row...), append([]int{1}, x.Shape[1:]...)...))[0]
		acc := out.Data[r*n : (r+1)*n]
		for from := 0; from < len(patches); from += set.BatchSize {
			chunk := patches[from:min(from+set.BatchSize, len(patches))]
			imgs := make([][]float64, len(chunk))
			for k, p := range chunk {
				img := append([]float64(nil), row...)
				for ch := range c {
					for i := p.y0; i < p.y0+set.Window; i++ {
						for j := p.x0; j < p.x0+set.Window; j++ {
							img[ch*h*w+i*w+j] = set.Fill
						}
					}
				}
				imgs[k] = img
			}
			sc := scores(f, stackRows(imgs, x))
			for k, p := range chunk {
				d := full - sc[k]
				for ch := range c {
					for i := p.y0; i < p.y0+set.Window; i++ {
						for j := p.x0; j < p.x0+set.Window; j++ {
							acc[ch*h*w+i*w+j] += d
						}
					}
				}
			}
		}
		for ch := range c {
			for q := range h * w {
				acc[ch*h*w+q] /= count[q]
			}
		}
	}
	return out
}
