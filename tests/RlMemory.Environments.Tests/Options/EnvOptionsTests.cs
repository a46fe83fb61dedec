namespace RlMemory.Environments.Tests.Options;

public sealed class EnvOptionsTests
{
    private static EnvOptions With(object value) => new() { Owner = "TMaze-v0", ["length"] = value };

    // ----- Typed getters -----------------------------------------------------------------------------------

    public static TheoryData<object, int> IntegerValues => new()
    {
        { 7, 7 },
        { 7L, 7 },
        { 7.0, 7 },
        { -3.0f, -3 },
        { "42", 42 },
        { " -5 ", -5 },
        { (long)int.MinValue, int.MinValue },
    };

    [Theory]
    [MemberData(nameof(IntegerValues))]
    public void GetInt_AcceptsWholeNumbersOfAnyNumericTypeAndNumericStrings(object value, int expected)
    {
        Assert.Equal(expected, With(value).GetInt("length"));
    }

    public static TheoryData<object, string> NonIntegerValues => new()
    {
        { 1.5, "1.5 (Double)" },
        { 2.5f, "2.5 (Single)" },
        { "1.5", "'1.5' (string)" },
        { "ten", "'ten' (string)" },
        { true, "True (Boolean)" },
        { 3_000_000_000L, "3000000000 (Int64)" },
        { 1e10, "10000000000 (Double)" },
        { double.NaN, "NaN (Double)" },
        { 1.5m, "1.5 (Decimal)" },
    };

    [Theory]
    [MemberData(nameof(NonIntegerValues))]
    public void GetInt_RefusesOtherValues_NamingOwnerKeyAndValue(object value, string shown)
    {
        var e = Assert.Throws<ArgumentException>(() => With(value).GetInt("length"));
        Assert.Equal($"TMaze-v0: option 'length' must be an integer; got {shown}.", e.Message);
    }

    [Theory]
    [InlineData("1e-3", 0.001)]
    [InlineData("-0.5", -0.5)]
    [InlineData("7", 7.0)]
    [InlineData(" 2.5e2 ", 250.0)]
    public void GetDouble_AcceptsNumericStrings(string text, double expected)
    {
        Assert.Equal(expected, With(text).GetDouble("length"));
    }

    [Fact]
    public void GetDouble_AcceptsEveryNumericType()
    {
        Assert.Equal(2.0, With(2).GetDouble("length"));
        Assert.Equal(2.0, With(2L).GetDouble("length"));
        Assert.Equal((double)0.1f, With(0.1f).GetDouble("length"));
        Assert.Equal(0.1, With(0.1).GetDouble("length"));
    }

    [Theory]
    [InlineData("abc", "a number; got 'abc' (string)")]
    [InlineData(true, "a number; got True (Boolean)")]
    [InlineData(double.NaN, "a number (not NaN); got NaN (Double)")]
    [InlineData("NaN", "a number (not NaN); got 'NaN' (string)")]
    public void GetDouble_RefusesNonNumbersAndNaN(object value, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => With(value).GetDouble("length"));
        Assert.Equal($"TMaze-v0: option 'length' must be {expected}.", e.Message);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData("true", true)]
    [InlineData("False", false)]
    public void GetBool_AcceptsBooleansAndTheirNames(object value, bool expected)
    {
        Assert.Equal(expected, With(value).GetBool("length"));
    }

    [Theory]
    [InlineData(1, "1 (Int32)")]
    [InlineData("yes", "'yes' (string)")]
    public void GetBool_RefusesOtherValues(object value, string shown)
    {
        var e = Assert.Throws<ArgumentException>(() => With(value).GetBool("length"));
        Assert.Equal($"TMaze-v0: option 'length' must be true or false; got {shown}.", e.Message);
    }

    [Fact]
    public void GetString_RefusesNonStrings()
    {
        Assert.Equal("book", With("book").GetString("length"));
        var e = Assert.Throws<ArgumentException>(() => With(5).GetString("length"));
        Assert.Equal("TMaze-v0: option 'length' must be a string; got 5 (Int32).", e.Message);
    }

    [Fact]
    public void Getters_WithADefault_UseItOnlyWhenTheKeyIsAbsent()
    {
        var options = new EnvOptions { { "present", "3" } };
        Assert.Equal(3, options.GetInt("present", 9));
        Assert.Equal(9, options.GetInt("absent", 9));
        Assert.Equal(2.5, options.GetDouble("absent", 2.5));
        Assert.True(options.GetBool("absent", true));
        Assert.Equal("d", options.GetString("absent", "d"));
        Assert.Throws<ArgumentException>(() => new EnvOptions { { "x", "oops" } }.GetInt("x", 1)); // present but bad: no fallback
    }

    [Fact]
    public void ReadingAMissingRequiredKey_NamesOwnerKeyAndGivenOptions()
    {
        var options = new EnvOptions { Owner = "TMaze-v0", ["width"] = 3 };
        var e = Assert.Throws<KeyNotFoundException>(() => options.GetInt("length"));
        Assert.Equal("TMaze-v0 has no option 'length'. Options given: width=3 (Int32).", e.Message);
    }

    // ----- RequireKnownKeys --------------------------------------------------------------------------------

    [Fact]
    public void RequireKnownKeys_SuggestsCloseNamesAndListsTheValidOnes()
    {
        var options = new EnvOptions { Owner = "TMaze-v0", ["corridor_lenght"] = 10 };
        var e = Assert.Throws<ArgumentException>(() => options.RequireKnownKeys(["corridor_length", "seed_offset", "noise"]));
        Assert.Equal(
            "TMaze-v0 does not accept option 'corridor_lenght'. Did you mean 'corridor_length'? (valid options: corridor_length, noise, seed_offset).",
            e.Message);
    }

    [Fact]
    public void RequireKnownKeys_OffersNoSuggestionWhenNothingIsClose_AndSaysWhenNoOptionsExist()
    {
        var options = new EnvOptions { Owner = "TMaze-v0", ["zzz"] = 1 };
        var e = Assert.Throws<ArgumentException>(() => options.RequireKnownKeys(["corridor_length"]));
        Assert.Equal("TMaze-v0 does not accept option 'zzz'. (valid options: corridor_length).", e.Message);
        var none = Assert.Throws<ArgumentException>(() => options.RequireKnownKeys([]));
        Assert.Equal("TMaze-v0 does not accept option 'zzz'. (it takes no options).", none.Message);
    }

    [Fact]
    public void RequireKnownKeys_IsCaseSensitive_ButSuggestsTheOtherCase()
    {
        var options = new EnvOptions { ["Length"] = 1 };
        var e = Assert.Throws<ArgumentException>(() => options.RequireKnownKeys(["length"]));
        Assert.Contains("Did you mean 'length'?", e.Message, StringComparison.Ordinal);
        new EnvOptions { ["length"] = 1 }.RequireKnownKeys(["length", "width"]); // known keys pass
    }

    // ----- Construction and merging ------------------------------------------------------------------------

    [Fact]
    public void Merge_LetsOverridesWin_SetsTheOwner_AndLeavesBothInputsAlone()
    {
        var defaults = new EnvOptions { { "a", 1 }, { "b", 2 } };
        var overrides = new EnvOptions { { "b", 20 }, { "c", 30 } };
        EnvOptions merged = defaults.Merge(overrides, "Env-v0");
        Assert.Equal("Env-v0", merged.Owner);
        Assert.Equal(1, merged["a"]);
        Assert.Equal(20, merged["b"]);
        Assert.Equal(30, merged["c"]);
        Assert.Equal(2, defaults["b"]);
        Assert.False(defaults.Contains("c"));
        Assert.Equal(2, overrides.Count);
        Assert.Equal("environment", defaults.Merge(null).Owner);
    }

    [Fact]
    public void Indexer_RefusesBlankKeysAndNullValues()
    {
        var options = new EnvOptions();
        Assert.ThrowsAny<ArgumentException>(() => options[" "] = 1);
        Assert.Throws<ArgumentNullException>(() => options["a"] = null!);
        Assert.Equal(0, options.Count);
    }

    [Fact]
    public void ToString_ListsTheOptionsWithTheirTypes()
    {
        Assert.Equal("none", new EnvOptions().ToString());
        Assert.Equal("a=1.5 (Double), b='x' (string)", new EnvOptions { { "a", 1.5 }, { "b", "x" } }.ToString());
    }
}
