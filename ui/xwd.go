//go:build screenshots

package ui

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math/bits"
)

// decodeXWD decodes the X Window Dump (XWD version 7) that xwd writes for a
// TrueColor window: a ZPixmap of 24 or 32 bits per pixel. It is what the
// screenshots use instead of reading GL buffers, which Mesa under Xvfb
// leaves blank.
func decodeXWD(b []byte) (image.Image, error) {
	const headerWords = 25
	if len(b) < headerWords*4 {
		return nil, errors.New("xwd: short header")
	}
	var h [headerWords]uint32
	for i := range h {
		h[i] = binary.BigEndian.Uint32(b[i*4:])
	}
	var (
		headerSize   = h[0]
		version      = h[1]
		format       = h[2]
		width        = h[4]
		height       = h[5]
		byteOrder    = h[7]
		bitsPerPixel = h[11]
		bytesPerLine = h[12]
		masks        = [3]uint32{h[14], h[15], h[16]}
		ncolors      = h[19]
	)
	if version != 7 || format != 2 {
		return nil, fmt.Errorf("xwd: version %d format %d, want 7 and ZPixmap", version, format)
	}
	if bitsPerPixel != 24 && bitsPerPixel != 32 {
		return nil, fmt.Errorf("xwd: %d bits per pixel, want 24 or 32", bitsPerPixel)
	}
	bpp := uint64(bitsPerPixel / 8)
	off := uint64(headerSize) + uint64(ncolors)*12
	if width == 0 || height == 0 || width > 1<<14 || height > 1<<14 ||
		uint64(bytesPerLine) < uint64(width)*bpp ||
		off+uint64(height)*uint64(bytesPerLine) > uint64(len(b)) {
		return nil, fmt.Errorf("xwd: %d×%d image does not fit in %d bytes", width, height, len(b))
	}
	var shift, scale [3]uint
	for i, m := range masks {
		if m == 0 {
			return nil, errors.New("xwd: not a TrueColor image")
		}
		shift[i] = uint(bits.TrailingZeros32(m))
		scale[i] = uint(bits.OnesCount32(m))
	}
	img := image.NewNRGBA(image.Rect(0, 0, int(width), int(height)))
	for y := uint64(0); y < uint64(height); y++ {
		row := b[off+y*uint64(bytesPerLine):]
		for x := uint64(0); x < uint64(width); x++ {
			p := row[x*bpp : x*bpp+bpp]
			var v uint32
			for i := range p {
				if byteOrder == 0 { // LSBFirst
					v |= uint32(p[i]) << (8 * uint(i))
				} else {
					v = v<<8 | uint32(p[i])
				}
			}
			var c [3]uint8
			for i, m := range masks {
				c[i] = uint8((v & m) >> shift[i] << (8 - min(scale[i], 8)))
			}
			img.SetNRGBA(int(x), int(y), color.NRGBA{c[0], c[1], c[2], 0xff})
		}
	}
	return img, nil
}
