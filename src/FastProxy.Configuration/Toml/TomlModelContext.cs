using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Serialization;

namespace FastProxy.Configuration.Toml;

/// <summary>
/// Source-generated Tomlyn context: the reflection-based serializer is not native-AOT safe,
/// and we only need the untyped document model (our own readers do the typing, so every
/// error can name its key).
/// </summary>
[TomlSerializable(typeof(TomlTable))]
internal sealed partial class TomlModelContext : TomlSerializerContext
{
    public TomlModelContext(TomlSerializerOptions options) : base(options) { }
}
