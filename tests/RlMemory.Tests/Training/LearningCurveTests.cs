using RlMemory.App.Plots;
using RlMemory.Training.Logging;
using SkiaSharp;

namespace RlMemory.Tests.Training;

public sealed class LearningCurveTests
{
    [Fact]
    public void Save_WritesAPngWithTheTrainingAndEvaluationSeries()
    {
        string path = Path.Combine(Path.GetTempPath(), $"rlmemory-curve-{Guid.NewGuid():N}", "learning_curve.png");
        try
        {
            var episodes = Enumerable.Range(1, 200).Select(i => ((long)i * 100, (double)Math.Min(500, i * 3))).ToList();
            var evaluations = new List<(long, double, double)> { (5000, 150, 20), (10000, 300, 40), (20000, 500, 0) };
            LearningCurve.Save(path, "DQN on CartPole-v1 (seed 0)", episodes, evaluations);

            using SKBitmap bitmap = SKBitmap.Decode(path);
            Assert.Equal((900, 540), (bitmap.Width, bitmap.Height));
            int orange = 0, blue = 0;
            for (int y = 0; y < bitmap.Height; y++)
            {
                for (int x = 0; x < bitmap.Width; x++)
                {
                    SKColor c = bitmap.GetPixel(x, y);
                    orange += c.Red > 220 && c.Green is > 50 and < 100 && c.Blue < 50 ? 1 : 0;
                    blue += c.Red < 90 && c.Green is > 110 and < 150 && c.Blue > 160 ? 1 : 0;
                }
            }

            Assert.True(orange > 50, $"expected the evaluation markers (orange-red), found {orange} pixels");
            Assert.True(blue > 200, $"expected the moving-average line (steel blue), found {blue} pixels");
            Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp.png"));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }
}
