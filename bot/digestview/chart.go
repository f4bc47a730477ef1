package digestview

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/digest"
)

// The chart's size in pixels, and the most bars it draws: longer periods
// are drawn in buckets of several days.
const (
	ChartWidth  = 800
	ChartHeight = 400
	chartDPI    = 96
	maxBars     = 60
)

// ErrNoChart means the period had no requests to chart.
var ErrNoChart = errors.New("no requests to chart")

// palette tells actions apart, also for readers with colour-blindness
// (Okabe and Ito's eight colours, less black).
var palette = []color.RGBA{
	{0xE6, 0x9F, 0x00, 0xFF}, {0x56, 0xB4, 0xE9, 0xFF}, {0x00, 0x9E, 0x73, 0xFF}, {0xF0, 0xE4, 0x42, 0xFF},
	{0x00, 0x72, 0xB2, 0xFF}, {0xD5, 0x5E, 0x00, 0xFF}, {0xCC, 0x79, 0xA7, 0xFF},
}

// Chart draws d's requests per day as bars stacked by action, as an
// 800×400 PNG. It returns ErrNoChart when the period had no requests.
func Chart(d digest.Digest) ([]byte, error) {
	if len(d.Daily) == 0 {
		return nil, ErrNoChart
	}
	loc := d.Location
	if loc == nil {
		loc = d.Hours.Loc()
	}
	first := midnight(d.Period.Start.In(loc))
	last := midnight(d.Period.End.Add(-time.Nanosecond).In(loc))
	days := dayIndex(first, last) + 1
	per := (days + maxBars - 1) / maxBars // days per bar
	bars := (days + per - 1) / per

	var acts []actions.Action
	counts := map[actions.Action]plotter.Values{}
	for _, dc := range d.Daily {
		i := dayIndex(first, midnight(dc.Day.In(loc))) / per
		if i < 0 || i >= bars {
			continue
		}
		v, ok := counts[dc.Action]
		if !ok {
			v = make(plotter.Values, bars)
			acts = append(acts, dc.Action)
		}
		v[i] += float64(dc.Count)
		counts[dc.Action] = v
	}
	order := actions.AllActions()
	slices.SortFunc(acts, func(a, b actions.Action) int { return rank(order, a) - rank(order, b) })

	p := plot.New()
	p.Title.Text = "Requests per day, by action"
	if per > 1 {
		p.Title.Text = fmt.Sprintf("Requests per %d days, by action", per)
	}
	p.Y.Label.Text = "requests"
	p.Y.Min = 0
	width := vg.Length(ChartWidth-120) * vg.Inch / chartDPI / vg.Length(bars) * 0.7
	var below *plotter.BarChart
	peak := make([]float64, bars)
	for i, a := range acts {
		bar, err := plotter.NewBarChart(counts[a], width)
		if err != nil {
			return nil, fmt.Errorf("chart: %w", err)
		}
		bar.Color = palette[i%len(palette)]
		bar.LineStyle.Width = 0
		if below != nil {
			bar.StackOn(below)
		}
		below = bar
		p.Add(bar)
		p.Legend.Add(string(a), bar)
		for j, v := range counts[a] {
			peak[j] += v
		}
	}
	top := slices.Max(peak)
	// Room above the bars for the legend, one line per action.
	p.Y.Max = top * (1.15 + 0.12*float64(len(acts)))
	p.Y.Tick.Marker = intTicks{}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs = vg.Points(8)
	p.NominalX(labels(first, bars, per)...)

	c := vgimg.NewWith(vgimg.UseWH(vg.Length(ChartWidth)*vg.Inch/chartDPI, vg.Length(ChartHeight)*vg.Inch/chartDPI), vgimg.UseDPI(chartDPI))
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("chart: encode PNG: %w", err)
	}
	return buf.Bytes(), nil
}

func rank(order []actions.Action, a actions.Action) int {
	if i := slices.Index(order, a); i >= 0 {
		return i
	}
	return len(order)
}

func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

// dayIndex counts calendar days from a to b, both midnights, across
// daylight saving changes.
func dayIndex(a, b time.Time) int {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return int(time.Date(by, bm, bd, 0, 0, 0, 0, time.UTC).Sub(time.Date(ay, am, ad, 0, 0, 0, 0, time.UTC)) / (24 * time.Hour))
}

// labels names the bars, leaving some blank when they would crowd.
func labels(first time.Time, bars, per int) []string {
	every := max(1, bars/12)
	out := make([]string, bars)
	for i := range out {
		if i%every != 0 {
			continue
		}
		day := first.AddDate(0, 0, i*per)
		if per == 1 && bars <= 14 {
			out[i] = day.Format("Mon 2 Jan")
		} else {
			out[i] = day.Format("2 Jan")
		}
	}
	return out
}

// intTicks marks whole numbers only: requests come in units.
type intTicks struct{}

func (intTicks) Ticks(lo, hi float64) []plot.Tick {
	step := math.Max(1, math.Ceil((hi-lo)/6))
	if mag := math.Pow(10, math.Floor(math.Log10(step))); step > 10 {
		step = math.Ceil(step/mag) * mag
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: fmt.Sprint(int64(v))})
	}
	return ticks
}
