using System.Globalization;
using RlMemory.Memory;

namespace RlMemory.Tests.Memory.Prioritized;

/// <summary><see cref="PriorityOptions"/> and <see cref="LinearBetaSchedule"/>: defaults, validation messages, annealing.</summary>
public sealed class PriorityOptionsTests
{
    [Fact]
    public void Defaults_AreThePapersProportionalVariant()
    {
        var options = new PriorityOptions();

        Assert.Equal(0.6, options.Alpha);
        Assert.Equal(1e-6, options.Epsilon);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(-0.1)]
    [InlineData(double.PositiveInfinity)]
    public void Alpha_RefusesValuesOutsideRange_NamingFieldAndValue(double alpha)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new PriorityOptions { Alpha = alpha });

        Assert.Contains("PriorityOptions.Alpha", ex.Message);
        Assert.Contains(alpha.ToString("R", CultureInfo.InvariantCulture), ex.Message);
        Assert.Contains("≥ 0", ex.Message);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(0.0)]
    [InlineData(-1e-6)]
    [InlineData(double.PositiveInfinity)]
    public void Epsilon_RefusesValuesOutsideRange_NamingFieldAndValue(double epsilon)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new PriorityOptions { Epsilon = epsilon });

        Assert.Contains("PriorityOptions.Epsilon", ex.Message);
        Assert.Contains(epsilon.ToString("R", CultureInfo.InvariantCulture), ex.Message);
        Assert.Contains("> 0", ex.Message);
    }

    [Fact]
    public void With_ValidatesToo()
    {
        var options = new PriorityOptions();

        Assert.Throws<ArgumentOutOfRangeException>(() => options with { Alpha = -1 });
        Assert.Equal(0.0, (options with { Alpha = 0 }).Alpha);
    }

    [Fact]
    public void BetaSchedule_AnnealsLinearlyThenHolds()
    {
        var schedule = new LinearBetaSchedule { InitialBeta = 0.4, AnnealingSteps = 1000 };

        Assert.Equal(1.0, schedule.FinalBeta);
        Assert.Equal(0.4, schedule.ValueAt(0));
        Assert.Equal(0.55, schedule.ValueAt(250), 12);
        Assert.Equal(0.7, schedule.ValueAt(500), 12);
        Assert.Equal(1.0, schedule.ValueAt(1000));
        Assert.Equal(1.0, schedule.ValueAt(long.MaxValue));
        Assert.Equal(0.4, new LinearBetaSchedule { AnnealingSteps = 1 }.ValueAt(0));
    }

    [Fact]
    public void BetaSchedule_RefusesBadValues_NamingFieldAndValue()
    {
        var initial = Assert.Throws<ArgumentOutOfRangeException>(() => new LinearBetaSchedule { InitialBeta = 1.5, AnnealingSteps = 10 });
        Assert.Contains("LinearBetaSchedule.InitialBeta", initial.Message);
        Assert.Contains("1.5", initial.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LinearBetaSchedule { FinalBeta = double.NaN, AnnealingSteps = 10 });
        var steps = Assert.Throws<ArgumentOutOfRangeException>(() => new LinearBetaSchedule { AnnealingSteps = 0 });
        Assert.Contains("LinearBetaSchedule.AnnealingSteps", steps.Message);
        var step = Assert.Throws<ArgumentOutOfRangeException>(() => new LinearBetaSchedule { AnnealingSteps = 10 }.ValueAt(-1));
        Assert.Contains("-1", step.Message);
    }
}
