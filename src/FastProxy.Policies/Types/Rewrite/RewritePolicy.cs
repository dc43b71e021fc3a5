using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using FastProxy.Configuration;
using FastProxy.Policies.Pipeline;
using FastProxy.Policies.Types.Headers;

namespace FastProxy.Policies.Types.Rewrite;

/// <summary>
/// type = "rewrite": replaces every match of <c>pattern</c> in the path (the path as earlier policies left it, else
/// the client's in normal form, before strip_prefix) with <c>replacement</c>, and sets or removes query parameters.
/// A path that does not match is left alone. A result that is not an origin-form path (no leading '/', a CR, LF,
/// NUL, space or '#') is never forwarded: the client gets 500 and the policy's invalid_path counter counts it.
/// A replacement without groups is applied on the stack (no allocation), and so is one with groups when the pattern is
/// a literal, one group and a literal (<see cref="CaptureSplice"/>: <c>^/api/(.*)$</c> and the like); other patterns with
/// groups go through <see cref="Regex.Replace(string, string)"/>, which allocates the path's string, a Match and the
/// result per matching request.
/// </summary>
internal sealed class RewritePolicy : IPolicy
{
    private const int StackLimit = 1024;

    private readonly Regex? _regex;
    private readonly string? _replacement;
    private readonly byte[] _replacementBytes;
    private readonly bool _groups;
    /// <summary>Groups, but the one-group shape: spliced on the stack. Null: no groups, or Regex.Replace.</summary>
    private readonly CaptureSplice? _splice;
    private readonly (byte[] Name, CompiledTemplate Value)[] _set;
    private readonly byte[][] _remove;
    private readonly PolicyAnswer _invalid;
    private readonly PolicyAnswer _timeout;

    public RewritePolicy(string name, RewriteOptions options)
    {
        Name = name;
        _regex = options.Pattern;
        _replacement = options.Replacement;
        _replacementBytes = Encoding.ASCII.GetBytes(options.Replacement ?? "");
        _groups = options.ReplacementHasGroups;
        _splice = _groups && _regex is not null ? CaptureSplice.TryCreate(_regex, options.Replacement!) : null;
        _set = [.. options.QuerySet.Select(p => (Encoding.UTF8.GetBytes(p.Key), new CompiledTemplate(p.Value)))];
        _remove = [.. options.QueryRemove.Select(Encoding.UTF8.GetBytes)];
        _invalid = new PolicyAnswer(500, RejectionCounter.For(name, "rewrite", "invalid_path"), body: "the rewritten path is not a valid request target\n");
        _timeout = new PolicyAnswer(500, RejectionCounter.For(name, "rewrite", "match_timeout"), body: "the path could not be rewritten in time\n");
    }

    public string Name { get; }

    /// <summary>The invalid_path answer's counter (tests read it).</summary>
    internal RejectionCounter InvalidCounter => _invalid.Counter;

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context)
    {
        if (_regex is not null)
        {
            PolicyAnswer? refused;
            try
            {
                refused = _groups && _splice is null ? RewriteWithGroups(context) : RewriteOnStack(context);
            }
            catch (RegexMatchTimeoutException)
            {
                refused = _timeout;
            }
            // The chain counts the answer.
            if (refused is not null) return new ValueTask<PolicyAnswer?>(refused);
        }
        foreach (var name in _remove) context.RemoveQueryParameter(name);
        foreach (var (name, value) in _set) SetParameter(context, name, value);
        return default;
    }

    /// <summary>Every match replaced by the literal replacement, or spliced with its group (<see cref="_splice"/>), on the stack.</summary>
    private PolicyAnswer? RewriteOnStack(PolicyContext context)
    {
        var path = context.CurrentPath;
        char[]? rentedChars = null;
        Span<char> chars = path.Length <= StackLimit ? stackalloc char[path.Length] : (rentedChars = ArrayPool<char>.Shared.Rent(path.Length));
        chars = chars[..path.Length];
        for (int i = 0; i < path.Length; i++) chars[i] = (char)path[i];
        byte[]? rented = null;
        try
        {
            int matches = 0;
            foreach (var _ in _regex!.EnumerateMatches(chars)) matches++;
            if (matches == 0) return null;
            int bound = _splice?.Bound(path.Length, matches) ?? path.Length + matches * _replacementBytes.Length;
            Span<byte> result = bound <= StackLimit ? stackalloc byte[bound] : (rented = ArrayPool<byte>.Shared.Rent(bound));
            if (_splice is not null) return Apply(context, result[.._splice.Splice(chars, path, result)]);
            int w = 0, last = 0;
            foreach (var match in _regex.EnumerateMatches(chars))
            {
                path[last..match.Index].CopyTo(result[w..]);
                w += match.Index - last;
                _replacementBytes.CopyTo(result[w..]);
                w += _replacementBytes.Length;
                last = match.Index + match.Length;
            }
            path[last..].CopyTo(result[w..]);
            w += path.Length - last;
            return Apply(context, result[..w]);
        }
        finally
        {
            if (rentedChars is not null) ArrayPool<char>.Shared.Return(rentedChars);
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Through Regex.Replace: .NET has no span API that yields groups (any pattern <see cref="CaptureSplice"/> does not take).</summary>
    private PolicyAnswer? RewriteWithGroups(PolicyContext context)
    {
        // Latin-1: one char per byte and back, so escapes and any other byte survive the round trip exactly.
        var input = Encoding.Latin1.GetString(context.CurrentPath);
        var output = _regex!.Replace(input, _replacement!);
        if (ReferenceEquals(output, input)) return null;
        byte[]? rented = null;
        try
        {
            Span<byte> result = output.Length <= StackLimit ? stackalloc byte[output.Length] : (rented = ArrayPool<byte>.Shared.Rent(output.Length));
            // The replacement is ASCII (checked at load) and the captures came from bytes: every char fits a byte.
            int length = Encoding.Latin1.GetBytes(output, result);
            return Apply(context, result[..length]);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Sets the new path, or refuses one that is not an origin-form path. An empty result is "/" (as strip_prefix does).</summary>
    private PolicyAnswer? Apply(PolicyContext context, ReadOnlySpan<byte> path)
    {
        if (path.IsEmpty) path = "/"u8;
        if (!IsOriginPath(path) || !context.SetPath(path)) return _invalid;
        return null;
    }

    /// <summary>Starts with '/', and holds no control, space, DEL or '#' (a '?' would be encoded by SetPath, as data).</summary>
    internal static bool IsOriginPath(ReadOnlySpan<byte> path)
    {
        if (path.IsEmpty || path[0] != (byte)'/') return false;
        foreach (var b in path)
        {
            if (b <= (byte)' ' || b == 0x7F || b == (byte)'#') return false;
        }
        return true;
    }

    private static void SetParameter(PolicyContext context, byte[] name, CompiledTemplate value)
    {
        Span<byte> stack = stackalloc byte[512];
        if (value.TryExpand(context, stack, out int length) != Expansion.Done) return;
        if (length <= stack.Length)
        {
            context.SetQueryParameter(name, stack[..length]);
            return;
        }
        byte[] rented = ArrayPool<byte>.Shared.Rent(length);
        if (value.TryExpand(context, rented, out length) == Expansion.Done) context.SetQueryParameter(name, rented.AsSpan(0, length));
        ArrayPool<byte>.Shared.Return(rented);
    }
}
