// Package runnertest checks what the experiment runner writes, for tests:
// that every image and local link of its HTML pages names a file that
// exists, that every image is a real, non-blank picture, and (with
// StripTimings) that two runs wrote the same report.
package runnertest

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	_ "image/png" // figures are PNG
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/net/html"
)

// Pages returns the HTML pages of an output directory: index.html and the
// report.html of every report folder.
func Pages(out string) ([]string, error) {
	pages, err := filepath.Glob(filepath.Join(out, "*", "report.html"))
	if err != nil {
		return nil, err
	}
	return append([]string{filepath.Join(out, "index.html")}, pages...), nil
}

// Refs returns the images (<img src>) and the local links (<a href> that
// are neither absolute nor fragments of the page) of an HTML page, as paths
// relative to the page's folder.
func Refs(page string) (images, links []string, err error) {
	f, err := os.Open(page)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	doc, err := html.Parse(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", page, err)
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		for _, a := range n.Attr {
			switch {
			case n.Data == "img" && a.Key == "src":
				p, ok := localPath(a.Val)
				if !ok {
					return nil, nil, fmt.Errorf("%s: image %q is not a local file", page, a.Val)
				}
				images = append(images, p)
			case n.Data == "a" && a.Key == "href":
				if p, ok := localPath(a.Val); ok {
					links = append(links, p)
				}
			}
		}
	}
	return images, links, nil
}

// localPath returns the file a relative URL names, and whether it is one.
func localPath(ref string) (string, bool) {
	u, err := url.Parse(ref)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Path == "" || strings.HasPrefix(u.Path, "/") {
		return "", false
	}
	return filepath.FromSlash(u.Path), true
}

// CheckPages checks every page of an output directory: each image it shows
// exists and is not blank (CheckImage), and each local link names a file.
// It returns every problem, and the number of images checked.
func CheckPages(out string) (nImages int, errs []error) {
	pages, err := Pages(out)
	if err != nil {
		return 0, []error{err}
	}
	for _, page := range pages {
		images, links, err := Refs(page)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		dir := filepath.Dir(page)
		for _, img := range images {
			nImages++
			if err := CheckImage(filepath.Join(dir, img)); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", page, err))
			}
		}
		for _, l := range links {
			if _, err := os.Stat(filepath.Join(dir, l)); err != nil {
				errs = append(errs, fmt.Errorf("%s: link to %s: %w", page, l, err))
			}
		}
	}
	return nImages, errs
}

// CheckImage returns an error unless path is an image that shows
// something: a PNG (or other decodable raster) in which at least 1% of the
// pixels differ from the most common colour, and at least three colours
// appear; or an SVG that draws at least one path, line, shape or text.
func CheckImage(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if strings.EqualFold(filepath.Ext(path), ".svg") {
		return checkSVG(path, data)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: not a decodable image: %w", path, err)
	}
	b := img.Bounds()
	if b.Dx() < 2 || b.Dy() < 2 {
		return fmt.Errorf("%s: %d×%d pixels", path, b.Dx(), b.Dy())
	}
	counts := map[[4]uint32]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			counts[[4]uint32{r, g, bl, a}]++
		}
	}
	most := 0
	for _, n := range counts {
		most = max(most, n)
	}
	total := b.Dx() * b.Dy()
	if len(counts) < 3 || float64(total-most) < 0.01*float64(total) {
		return fmt.Errorf("%s: blank: %d colours, %.2g%% of the pixels differ from the background", path, len(counts), 100*float64(total-most)/float64(total))
	}
	return nil
}

// checkSVG requires an <svg> root and at least one drawing element.
func checkSVG(path string, data []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(data))
	root, drawn := "", 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: not well-formed SVG: %w", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			switch se.Name.Local {
			case "path", "line", "polyline", "polygon", "rect", "circle", "ellipse", "text", "image":
				drawn++
			}
		}
	}
	if root != "svg" || drawn == 0 {
		return fmt.Errorf("%s: an SVG with root <%s> and %d drawing elements", path, root, drawn)
	}
	return nil
}

// timingsHeading starts the Timings section of a report.md, the only part
// of a report that differs between two runs of the same config and seed.
const timingsHeading = "## Timings"

// StripTimings removes the Timings section from a report.md: what remains
// is the same for two runs with the same config and seed.
func StripTimings(md string) string {
	i := strings.LastIndex(md, "\n"+timingsHeading+"\n")
	if i < 0 {
		return md
	}
	rest := md[i+1+len(timingsHeading):]
	j := strings.Index(rest, "\n## ")
	if j < 0 {
		return md[:i+1]
	}
	return md[:i+1] + rest[j+1:]
}
