using RlMemory.Environments.ClassicControl;
using RlMemory.Environments.Rendering;

namespace RlMemory.Environments.Tests.Rendering;

/// <summary>
/// Pixel facts of the classic-control pictures, computed from Gymnasium 1.0's drawing code: where each part must be
/// for a given state, and its colour. Points are taken a few pixels inside shapes, away from anti-aliased edges.
/// </summary>
public sealed class ClassicControlRenderingTests
{
    private static readonly Rgb White = Rgb.White;

    // ---- CartPole (600×400, scale 600 / 4.8 = 125 px/m, cart rows 285..315, axle at screen y 292.5) ----

    [Theory]
    [InlineData(-2.0)]
    [InlineData(-0.5)]
    [InlineData(0.0)]
    [InlineData(1.3)]
    [InlineData(2.05)]
    public void CartPole_CartSpansFiftyColumnsCentredOnXTimes125Plus300(double x)
    {
        RgbFrame frame = CartPoleFrame(x, theta: 0);
        Assert.Equal((600, 400), (frame.Width, frame.Height));

        // Row 310 crosses the cart below the axle and the pole; only the cart is dark there. Edge pixels are partly
        // covered (anti-aliasing), so measure the cart by its coverage: total width and centroid.
        double centre = x * 125 + 300;
        double covered = 0, moment = 0;
        for (int c = 0; c < 600; c++)
        {
            double coverage = (255 - frame[c, 310].R) / 255.0;
            covered += coverage;
            moment += coverage * (c + 0.5);
        }

        Assert.Equal(50, covered, 0.05);
        Assert.Equal(centre, moment / covered, 0.05);
        Assert.Equal(Rgb.Black, frame[(int)centre - 20, 310]);
        Assert.Equal(Rgb.Black, frame[(int)centre + 20, 310]);
        Assert.Equal(White, frame[(int)centre - 27, 310]);
        Assert.Equal(White, frame[(int)centre + 27, 310]);
        Assert.Equal(Rgb.Black, frame[(int)centre - 20, 286]); // the cart spans rows 285 to 315
        Assert.Equal(Rgb.Black, frame[(int)centre - 20, 314]);
        Assert.Equal(White, frame[(int)centre - 20, 283]);
        Assert.Equal(White, frame[(int)centre - 20, 317]);
    }

    [Fact]
    public void CartPole_PoleTipMovesLeftForNegativeAngles_AndRightForPositive()
    {
        foreach (double theta in new[] { -0.2, 0.2 })
        {
            RgbFrame frame = CartPoleFrame(0, theta);
            // Gymnasium rotates the pole by -theta (y up): its axis point at distance d from the axle is
            // (300 + d sin θ, 292.5 - d cos θ) on the screen.
            double d = 110;
            int px = (int)(300 + d * Math.Sin(theta)), py = (int)(292.5 - d * Math.Cos(theta));
            int mirror = (int)(300 - d * Math.Sin(theta));
            Assert.Equal(CartPoleEnv.PoleColor, frame[px, py]);
            Assert.Equal(White, frame[mirror, py]);
            int tipColumn = TopmostColumn(frame, CartPoleEnv.PoleColor);
            Assert.True(theta < 0 ? tipColumn < 285 : tipColumn > 315, $"theta {theta}: the pole's top is at column {tipColumn}");
        }

        int upright = TopmostColumn(CartPoleFrame(0, 0), CartPoleEnv.PoleColor);
        Assert.InRange(upright, 295, 305);
    }

    [Fact]
    public void CartPole_UprightPoleAxleAndTrackHaveGymnasiumsColoursAndRows()
    {
        RgbFrame frame = CartPoleFrame(0, 0);
        // Pole: columns 295..304, from the axle (292.5) up to 292.5 - 120 = 172.5.
        Assert.Equal(CartPoleEnv.PoleColor, frame[297, 180]);
        Assert.Equal(CartPoleEnv.PoleColor, frame[302, 280]);
        Assert.Equal(White, frame[297, 170]);
        Assert.Equal(White, frame[292, 200]);
        Assert.Equal(new Rgb(202, 152, 101), CartPoleEnv.PoleColor);
        // Axle: radius 5 around pixel (300, 292).
        Assert.Equal(new Rgb(129, 132, 203), frame[300, 292]);
        // Track: pygame's row 100 (y up) is row 299; it spans the whole width.
        foreach (int column in new[] { 0, 100, 500, 599 })
        {
            Assert.Equal(Rgb.Black, frame[column, 299]);
            Assert.Equal(White, frame[column, 297]);
            Assert.Equal(White, frame[column, 301]);
        }
    }

    // ---- MountainCar (600×400, scale 600 / 1.8, hill sin(3x)·0.45 + 0.55, car 10 px above the hill) ----

    [Theory]
    [InlineData(-0.5)]
    [InlineData(-1.0)]
    [InlineData(0.3)]
    public void MountainCar_CarSitsOnTheHillAtItsPosition(double position)
    {
        RgbFrame frame = MountainCarFrame(position);
        double scale = 600 / 1.8, tilt = Math.Cos(3 * position);
        double baseX = (position + 1.2) * scale, baseY = 10 + MountainCarEnv.Height(position) * scale; // y up

        // The body's point (0, 15) in car coordinates, rotated by the tilt: above the wheels, inside the body.
        var (bx, by) = (-15 * Math.Sin(tilt), 15 * Math.Cos(tilt));
        Assert.Equal(Rgb.Black, frame[(int)(baseX + bx), (int)(400 - (baseY + by))]);

        // The wheels (radius 8) at (±10, 0) in car coordinates, grey.
        foreach (double side in new[] { -10.0, 10.0 })
        {
            var (wx, wy) = (side * Math.Cos(tilt), side * Math.Sin(tilt));
            Assert.Equal(MountainCarEnv.WheelColor, frame[(int)(baseX + wx), 400 - 1 - (int)(baseY + wy)]);
        }

        // 40 pixels above the car's roof there is only sky.
        Assert.Equal(White, frame[(int)baseX, (int)(400 - baseY - 60)]);
    }

    [Fact]
    public void MountainCar_CarMovesRightWithPosition_AndTheHillAndFlagAreWhereGymnasiumDrawsThem()
    {
        // The body's centre is (0, 10) in car coordinates, rotated by the tilt cos(3 · position).
        foreach (double position in new[] { -0.9, -0.2, 0.4 })
        {
            int column = MeanColumn(MountainCarFrame(position), Rgb.Black, rows: (0, 400), ignoreThinLines: true);
            double expected = (position + 1.2) * 600 / 1.8 - 10 * Math.Sin(Math.Cos(3 * position));
            Assert.Equal(expected, column, 3.0);
        }

        RgbFrame frame = MountainCarFrame(-0.5);
        foreach (int column in new[] { 30, 150, 400, 520 })
        {
            double y = MountainCarEnv.Height(column / (600 / 1.8) - 1.2) * (600 / 1.8);
            int row = (int)(400 - y);
            int darkest = Enumerable.Range(row - 2, 5).Min(r => (int)frame[column, r].R);
            Assert.True(darkest < 160, $"no hill line near column {column}, row {row}");
            Assert.Equal(White, frame[column, row - 6]);
            Assert.Equal(White, frame[column, row + 6]);
        }

        // Flag: pole at column int(1.7 · 600 / 1.8) = 566, triangle (204, 204, 0) at the top of a 50-pixel pole.
        int flagY2 = (int)(MountainCarEnv.Height(0.5) * (600 / 1.8)) + 50;
        Assert.Equal(new Rgb(204, 204, 0), frame[574, 400 - (flagY2 - 5)]);
        Assert.Equal(Rgb.Black, frame[566, 400 - (flagY2 - 25)]);
        Assert.Equal(White, frame[560, 400 - (flagY2 - 25)]);
    }

    // ---- Acrobot (500×500, scale 500 / 4.4, pivot at the centre, bar one link above it) ----

    [Fact]
    public void Acrobot_LinksHangDownAtRest_WithJointsAndTheBar()
    {
        RgbFrame frame = AcrobotFrame(0, 0);
        double scale = 500 / 4.4;
        Assert.Equal((500, 500), (frame.Width, frame.Height));
        Assert.Equal(AcrobotEnv.JointColor, frame[250, 249]); // pivot joint (pixel (250, 250) y up)
        Assert.Equal(AcrobotEnv.LinkColor, frame[250, (int)(250 + 0.5 * scale)]);
        Assert.Equal(AcrobotEnv.JointColor, frame[250, (int)(250 + scale)]);
        Assert.Equal(AcrobotEnv.LinkColor, frame[250, (int)(250 + 1.9 * scale)]);
        Assert.Equal(White, frame[250, (int)(250 - 0.5 * scale)]);
        Assert.Equal(White, frame[250 + 20, (int)(250 + 0.5 * scale)]); // links are 0.2 m = 22.7 px wide
        Assert.Equal(new Rgb(0, 204, 204), AcrobotEnv.LinkColor);
        Assert.Equal(new Rgb(204, 204, 0), AcrobotEnv.JointColor);

        // The bar: pygame's row int(250 + scale) = 363 (y up) is row 136 on the screen, from x = 0 to 500.
        foreach (int column in new[] { 5, 250, 495 })
        {
            Assert.Equal(Rgb.Black, frame[column, 136]);
            Assert.Equal(White, frame[column, 134]);
            Assert.Equal(White, frame[column, 138]);
        }
    }

    [Theory]
    [InlineData(Math.PI / 2, 0)]
    [InlineData(0.5, 0.8)]
    [InlineData(-1.2, -0.7)]
    [InlineData(2.8, 0.3)]
    public void Acrobot_TipIsWhereTheAnglesPutIt(double theta1, double theta2)
    {
        RgbFrame frame = AcrobotFrame(theta1, theta2);
        double scale = 500 / 4.4;
        // Screen coordinates (y down): a positive theta1 swings the first link to the right.
        double jointX = 250 + scale * Math.Sin(theta1), jointY = 250 + scale * Math.Cos(theta1);
        double dx = Math.Sin(theta1 + theta2), dy = Math.Cos(theta1 + theta2);
        double nearTipX = jointX + scale * 0.95 * dx, nearTipY = jointY + scale * 0.95 * dy;
        Assert.Equal(AcrobotEnv.LinkColor, frame[(int)nearTipX, (int)nearTipY]);
        double beyondX = jointX + scale * 1.15 * dx, beyondY = jointY + scale * 1.15 * dy;
        if (Math.Abs(beyondY - 136) > 3)
        {
            Assert.Equal(White, frame[(int)beyondX, (int)beyondY]);
        }

        Assert.Equal(AcrobotEnv.LinkColor, frame[(int)(250 + scale * 0.5 * Math.Sin(theta1)), (int)(250 + scale * 0.5 * Math.Cos(theta1))]);
    }

    // ---- Pendulum (500×500, scale 500 / 4.4, axle at the centre, rod up for theta = 0) ----

    [Theory]
    [InlineData(0.0)]
    [InlineData(Math.PI / 2)]
    [InlineData(-Math.PI / 2)]
    [InlineData(Math.PI)]
    [InlineData(2.0)]
    public void Pendulum_RodPointsUpForZero_AndTurnsCounterClockwiseAsThetaGrows(double theta)
    {
        RgbFrame frame = PendulumFrame(theta, torque: null);
        double scale = 500 / 4.4;
        // Screen direction of the rod (y down): (-sin θ, -cos θ).
        double dx = -Math.Sin(theta), dy = -Math.Cos(theta);
        foreach (double along in new[] { 0.3, 0.7, 0.98 })
        {
            Assert.Equal(PendulumEnv.RodColor, frame[(int)(250 + along * scale * dx), (int)(250 + along * scale * dy)]);
        }

        Assert.Equal(White, frame[(int)(250 - 0.7 * scale * dx), (int)(250 - 0.7 * scale * dy)]);
        Assert.Equal(White, frame[(int)(250 + 1.2 * scale * dx), (int)(250 + 1.2 * scale * dy)]);
        Assert.Equal(Rgb.Black, frame[250, 249]); // the axle is drawn last
        Assert.Equal(new Rgb(204, 77, 77), PendulumEnv.RodColor);
    }

    [Fact]
    public void Pendulum_TorqueArrowAppearsAfterAStep_SizedByTheTorque()
    {
        int none = DarkPixels(PendulumFrame(0, torque: null));
        int zero = DarkPixels(PendulumFrame(0, torque: 0f));
        int small = DarkPixels(PendulumFrame(0, torque: 0.8f));
        int large = DarkPixels(PendulumFrame(0, torque: -2f));
        Assert.Equal(none, zero);
        Assert.True(small > none + 50, $"no arrow for torque 0.8: {small} vs {none} dark pixels");
        Assert.True(large > small, $"the arrow for |u| = 2 ({large}) is not larger than for 0.8 ({small})");
    }

    [Fact]
    public void Pendulum_ArrowTurnsCounterClockwiseForPositiveTorque()
    {
        // The arrowhead sits at the end of a three-quarter arc that leaves the top quarter open; it points into that
        // opening: from the left side for a clockwise arrow (negative torque), from the right for a positive torque.
        foreach (float u in new[] { 2f, -2f })
        {
            var env = new PendulumEnv();
            env.Reset(seed: 0);
            env.State = [0.0, 0.0];
            env.Step([u], new float[3]);
            var head = RecordingCanvas.Record(env).CallsOf<FillPolygonCall>().Last(c => c.Color == PendulumEnv.ArrowColor);
            float tipX = head.Points[0].X;
            float centreX = head.Points.Average(p => p.X);
            Assert.True(tipX > centreX == u < 0, $"u = {u}: the arrowhead tip {tipX} vs its centre {centreX}");
            Assert.True(centreX < 250 == u < 0, $"u = {u}: the arrowhead is at x = {centreX}");
        }
    }

    [Fact]
    public void DrawCalls_FollowGymnasiumsOrder()
    {
        var cartPole = new CartPoleEnv();
        cartPole.Reset(seed: 0);
        Assert.Equal(
            [typeof(ClearCall), typeof(FillPolygonCall), typeof(FillPolygonCall), typeof(FillCircleCall), typeof(LineCall)],
            RecordingCanvas.Record(cartPole).Calls.Select(c => c.GetType()));
        Assert.Equal(
            [Rgb.White, Rgb.Black, CartPoleEnv.PoleColor, CartPoleEnv.AxleColor, Rgb.Black],
            RecordingCanvas.Record(cartPole).Calls.Select(c => c.Color));

        var car = new MountainCarEnv();
        car.Reset(seed: 0);
        var carCalls = RecordingCanvas.Record(car).Calls;
        Assert.Equal(
            [typeof(ClearCall), typeof(PolylineCall), typeof(FillPolygonCall), typeof(FillCircleCall), typeof(FillCircleCall), typeof(LineCall), typeof(FillPolygonCall)],
            carCalls.Select(c => c.GetType()));
        Assert.Equal(100, ((PolylineCall)carCalls[1]).Points.Count);
        Assert.Equal(MountainCarEnv.FlagColor, carCalls[^1].Color);

        var acrobot = new AcrobotEnv();
        acrobot.Reset(seed: 0);
        Assert.Equal(
            [typeof(ClearCall), typeof(LineCall), typeof(FillPolygonCall), typeof(FillCircleCall), typeof(FillPolygonCall), typeof(FillCircleCall)],
            RecordingCanvas.Record(acrobot).Calls.Select(c => c.GetType()));

        var pendulum = new PendulumEnv();
        pendulum.Reset(seed: 0);
        Assert.Equal(
            [typeof(ClearCall), typeof(FillPolygonCall), typeof(FillCircleCall), typeof(FillCircleCall), typeof(FillCircleCall)],
            RecordingCanvas.Record(pendulum).Calls.Select(c => c.GetType()));
        pendulum.Step([1f], new float[3]);
        Assert.Equal(
            [typeof(ClearCall), typeof(FillPolygonCall), typeof(FillCircleCall), typeof(FillCircleCall), typeof(PolylineCall), typeof(FillPolygonCall), typeof(FillCircleCall)],
            RecordingCanvas.Record(pendulum).Calls.Select(c => c.GetType()));
    }

    [Fact]
    public void Render_RefusesACanvasOfAnotherSize()
    {
        var env = new CartPoleEnv();
        env.Reset(seed: 0);
        var ex = Assert.Throws<ArgumentException>(() => env.Render(new RecordingCanvas(500, 500)));
        Assert.Contains("CartPoleEnv draws 600×400 pictures; the canvas is 500×500", ex.Message);
    }

    private static RgbFrame CartPoleFrame(double x, double theta)
    {
        var env = new CartPoleEnv();
        env.Reset(seed: 0);
        env.State = [x, 0, theta, 0];
        return env.RenderFrame();
    }

    private static RgbFrame MountainCarFrame(double position)
    {
        var env = new MountainCarEnv();
        env.Reset(seed: 0);
        env.State = [position, 0];
        return env.RenderFrame();
    }

    private static RgbFrame AcrobotFrame(double theta1, double theta2)
    {
        var env = new AcrobotEnv();
        env.Reset(seed: 0);
        env.State = [theta1, theta2, 0, 0];
        return env.RenderFrame();
    }

    private static RgbFrame PendulumFrame(double theta, float? torque)
    {
        var env = new PendulumEnv();
        env.Reset(seed: 0);
        env.State = [0, 0];
        if (torque is float u)
        {
            env.Step([u], new float[3]);
        }

        env.State = [theta, 0];
        return env.RenderFrame();
    }

    /// <summary>The column of the topmost pixel of exactly <paramref name="color"/>.</summary>
    private static int TopmostColumn(RgbFrame frame, Rgb color)
    {
        for (int y = 0; y < frame.Height; y++)
        {
            for (int x = 0; x < frame.Width; x++)
            {
                if (frame[x, y] == color)
                {
                    return x;
                }
            }
        }

        throw new InvalidOperationException($"no pixel of colour {color}");
    }

    /// <summary>The mean column of <paramref name="color"/> pixels in the rows, skipping rows with fewer than 4 (thin lines).</summary>
    private static int MeanColumn(RgbFrame frame, Rgb color, (int From, int To) rows, bool ignoreThinLines)
    {
        long sum = 0, count = 0;
        for (int y = rows.From; y < rows.To; y++)
        {
            var columns = Enumerable.Range(0, frame.Width).Where(x => frame[x, y] == color).ToArray();
            if (ignoreThinLines && columns.Length < 4)
            {
                continue;
            }

            sum += columns.Sum();
            count += columns.Length;
        }

        return (int)Math.Round(sum / (double)count);
    }

    private static int DarkPixels(RgbFrame frame)
    {
        int n = 0;
        for (int i = 0; i < frame.Pixels.Length; i += 3)
        {
            if (frame.Pixels[i] < 60 && frame.Pixels[i + 1] < 60 && frame.Pixels[i + 2] < 60)
            {
                n++;
            }
        }

        return n;
    }
}
