namespace FastProxy.Configuration.Validation;

/// <summary>A model item with the key path it was read from, so cross-section checks can point at it.</summary>
internal readonly record struct Located<T>(T Value, string Path);
