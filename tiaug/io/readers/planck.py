"""FLIR raw counts to degrees Celsius: the radiometric chain of FLIR's calibration (Planck constants R1, R2, B,
F, O; emissivity; reflected, atmospheric and window temperatures; object distance; humidity).

The camera's signal for a black body at T kelvin is ``S(T) = R1 / (R2 * (exp(B / T) - F)) - O``. The measured
signal mixes the object's with the reflected surroundings, the air (transmission tau over half the object
distance on each side of the window) and the window itself; removing those and inverting ``S`` gives the
object's temperature. Atmospheric transmission: ``tau = X exp(-sqrt(d/2) (a1 + b1 sqrt(h))) + (1 - X)
exp(-sqrt(d/2) (a2 + b2 sqrt(h)))`` with ``h`` the water vapour content from relative humidity and air
temperature. This is the published model (FLIR's documentation as used by ExifTool and Minkina & Dudzik,
*Infrared Thermography: Errors and Uncertainties*), written here from the equations.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class FlirCalibration:
    """The values of a FLIR camera-information record (temperatures in kelvin, distance in metres)."""

    planck_r1: float
    planck_r2: float
    planck_b: float
    planck_f: float
    planck_o: float
    emissivity: float = 1.0
    object_distance: float = 1.0
    reflected_temperature: float = 293.15
    atmospheric_temperature: float = 293.15
    window_temperature: float = 293.15
    window_transmission: float = 1.0
    relative_humidity: float = 0.5
    alpha1: float = 0.006569
    alpha2: float = 0.01262
    beta1: float = -0.002276
    beta2: float = -0.00667
    x: float = 1.9

    def problems(self) -> list[str]:
        """What makes this calibration unusable (empty when it is fine)."""
        out = [f"{k} is not a finite number" for k, v in asdict(self).items() if not math.isfinite(v)]
        if out:
            return out
        if not 0.0 < self.emissivity <= 1.0:
            out.append(f"emissivity {self.emissivity} is outside (0, 1]")
        if self.planck_r1 == 0 or self.planck_r2 == 0 or self.planck_b <= 0:
            out.append(f"Planck constants R1={self.planck_r1}, R2={self.planck_r2}, B={self.planck_b} are not valid")
        if not 0.0 < self.window_transmission <= 1.0:
            out.append(f"window transmission {self.window_transmission} is outside (0, 1]")
        if self.object_distance < 0:
            out.append(f"object distance {self.object_distance} m is negative")
        return out

    def signal(self, kelvin: float) -> float:
        """The raw signal of a black body at ``kelvin``."""
        return self.planck_r1 / (self.planck_r2 * (math.exp(self.planck_b / kelvin) - self.planck_f)) - self.planck_o

    def transmission(self) -> float:
        """Atmospheric transmission over half the object distance."""
        t = self.atmospheric_temperature - 273.15
        humidity = self.relative_humidity / 100.0 if self.relative_humidity > 1.0 else self.relative_humidity
        water = humidity * math.exp(1.5587 + 0.06939 * t - 0.00027816 * t**2 + 0.00000068455 * t**3)
        root = -math.sqrt(max(self.object_distance, 0.0) / 2.0)
        return self.x * math.exp(root * (self.alpha1 + self.beta1 * math.sqrt(water))) + (1 - self.x) * math.exp(
            root * (self.alpha2 + self.beta2 * math.sqrt(water))
        )

    def to_celsius(self, raw: np.ndarray) -> np.ndarray:
        """Object temperatures (float64, degrees Celsius) of raw counts; NaN where the counts fit no temperature."""
        e, tau, tw = self.emissivity, self.transmission(), self.window_transmission
        refl = self.signal(self.reflected_temperature)
        atm = self.signal(self.atmospheric_temperature)
        win = self.signal(self.window_temperature)
        gain = e * tau * tw * tau
        background = (
            (1 - e) / e * refl + (1 - tau) / (e * tau) * atm + (1 - tw) / (e * tau * tw) * win + (1 - tau) / gain * atm
        )
        obj = np.asarray(raw, dtype=np.float64) / gain - background
        with np.errstate(divide="ignore", invalid="ignore"):
            arg = self.planck_r1 / (self.planck_r2 * (obj + self.planck_o)) + self.planck_f
            return self.planck_b / np.log(arg) - 273.15
