//go:build screenshots

package ui

import (
	"bytes"
	"encoding/binary"
	"image/color"
	"testing"
)

// xwdImage builds a minimal XWD dump of a w×h TrueColor image with 32 bits
// per pixel, LSB first, filled by px.
func xwdImage(w, h int, px func(x, y int) (r, g, b uint8)) []byte {
	name := []byte("win\x00")
	var hdr [25]uint32
	hdr[0] = uint32(100 + len(name))
	hdr[1], hdr[2], hdr[3] = 7, 2, 24
	hdr[4], hdr[5] = uint32(w), uint32(h)
	hdr[7] = 0
	hdr[11], hdr[12] = 32, uint32(4*w)
	hdr[14], hdr[15], hdr[16] = 0xff0000, 0x00ff00, 0x0000ff
	var buf bytes.Buffer
	binary.Write(&buf, binary.BigEndian, hdr)
	buf.Write(name)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, b := px(x, y)
			buf.Write([]byte{b, g, r, 0})
		}
	}
	return buf.Bytes()
}

func TestDecodeXWD(t *testing.T) {
	data := xwdImage(3, 2, func(x, y int) (uint8, uint8, uint8) { return uint8(x * 100), uint8(y * 200), 7 })
	img, err := decodeXWD(data)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 3 || b.Dy() != 2 {
		t.Fatalf("bounds %v", b)
	}
	if got, want := color.NRGBAModel.Convert(img.At(2, 1)), (color.NRGBA{200, 200, 7, 255}); got != want {
		t.Errorf("pixel (2,1) = %v, want %v", got, want)
	}
	for n := 0; n < len(data); n += 7 {
		if _, err := decodeXWD(data[:n]); err == nil {
			t.Fatalf("decodeXWD accepted a dump cut to %d of %d bytes", n, len(data))
		}
	}
	bad := bytes.Clone(data)
	bad[7] = 6 // version
	if _, err := decodeXWD(bad); err == nil {
		t.Error("decodeXWD accepted version 6")
	}
}

func TestPainted(t *testing.T) {
	blank := xwdImage(200, 200, func(x, y int) (uint8, uint8, uint8) { return 255, 255, 255 })
	img, err := decodeXWD(blank)
	if err != nil {
		t.Fatal(err)
	}
	if painted(img) {
		t.Error("a white image counts as painted")
	}
	busy := xwdImage(200, 200, func(x, y int) (uint8, uint8, uint8) { return uint8(x), uint8(y), uint8(x ^ y) })
	if img, _ = decodeXWD(busy); !painted(img) {
		t.Error("a busy image does not count as painted")
	}
}
