using System.Globalization;
using System.Text;

namespace FastProxy.Observability.Metrics;

/// <summary>
/// Writes the Prometheus text exposition format, version 0.0.4 (one `# HELP` and `# TYPE` per family, then its
/// samples, all of a family together; label values escaped: backslash, double quote, newline). A scrape builds its
/// text in one reused StringBuilder (the admin listener serves it; off the request path).
/// </summary>
internal sealed class PrometheusText
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly StringBuilder _text = new(16 * 1024);

    public void Clear() => _text.Clear();

    public int Length => _text.Length;

    public byte[] ToUtf8() => Encoding.UTF8.GetBytes(_text.ToString());

    public override string ToString() => _text.ToString();

    /// <summary>Starts a family: its help and type ("counter", "gauge", "histogram").</summary>
    public void Family(string name, string help, string type)
    {
        _text.Append("# HELP ").Append(name).Append(' ');
        foreach (var c in help)
        {
            // Help text escapes backslash and newline only.
            if (c == '\\') _text.Append("\\\\");
            else if (c == '\n') _text.Append("\\n");
            else _text.Append(c);
        }
        _text.Append('\n').Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    /// <summary>The start of a sample: its name and an opening brace when labels follow.</summary>
    public PrometheusText Sample(string name, string? suffix = null)
    {
        _text.Append(name);
        if (suffix is not null) _text.Append(suffix);
        _open = false;
        return this;
    }

    private bool _open;

    public PrometheusText Label(string name, string value)
    {
        _text.Append(_open ? ',' : '{').Append(name).Append("=\"");
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\': _text.Append("\\\\"); break;
                case '"': _text.Append("\\\""); break;
                case '\n': _text.Append("\\n"); break;
                default: _text.Append(c); break;
            }
        }
        _text.Append('"');
        _open = true;
        return this;
    }

    public void Value(long value)
    {
        if (_open) _text.Append('}');
        _text.Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }

    public void Value(double value)
    {
        if (_open) _text.Append('}');
        _text.Append(' ');
        if (double.IsPositiveInfinity(value)) _text.Append("+Inf");
        else if (double.IsNegativeInfinity(value)) _text.Append("-Inf");
        else if (double.IsNaN(value)) _text.Append("NaN");
        else _text.Append(value.ToString("R", CultureInfo.InvariantCulture));
        _text.Append('\n');
    }

    /// <summary>
    /// A histogram's samples from folded cells (non-cumulative buckets, +Inf, then the sum in Stopwatch ticks):
    /// `_bucket{le=...}` cumulative, `_sum` in seconds, `_count`. <paramref name="labels"/> writes the series' own labels.
    /// </summary>
    public void Histogram(string name, ReadOnlySpan<long> cells, Action<PrometheusText> labels)
    {
        long cumulative = 0;
        for (int i = 0; i <= Metrics.Histogram.Bounds.Length; i++)
        {
            cumulative += cells[i];
            Sample(name, "_bucket");
            labels(this);
            Label("le", i < Metrics.Histogram.Bounds.Length ? Metrics.Histogram.BoundText[i] : "+Inf").Value(cumulative);
        }
        Sample(name, "_sum");
        labels(this);
        Value(cells[Metrics.Histogram.SumCell] / (double)System.Diagnostics.Stopwatch.Frequency);
        Sample(name, "_count");
        labels(this);
        Value(cumulative);
    }
}
